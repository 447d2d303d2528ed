import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";

/**
 * A TCP proxy to Redis that can fail and come back on the same port, so clients reconnect to it
 * by themselves. (`@agentauth/state/testing`'s `startTcpProxy` freezes connections but cannot
 * resume them, nor listen again once closed.)
 */
export interface OutageProxy {
  /** `redis://` URL of the proxy. */
  readonly url: string;
  /** Redis goes away: open connections are reset and new ones refused, until {@link restore}. */
  cut(): Promise<void>;
  /**
   * The link goes silent (half-open): connections stay open but carry nothing, and new ones are
   * accepted but carry nothing either, until {@link restore}.
   */
  freeze(): void;
  /** Back to normal on the same port: frozen connections carry on, new ones are accepted. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  readonly inbound: Socket;
  readonly outbound: Socket;
}

export async function startOutageProxy(targetUrl: string): Promise<OutageProxy> {
  const target = new URL(targetUrl);
  const pairs = new Set<Pair>();
  let frozen = false;
  let listening = false;

  const carry = ({ inbound, outbound }: Pair) => {
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  };
  const hold = ({ inbound, outbound }: Pair) => {
    inbound.unpipe(outbound);
    outbound.unpipe(inbound);
    inbound.pause();
    outbound.pause();
  };
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname);
    const pair = { inbound, outbound };
    pairs.add(pair);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    for (const socket of [inbound, outbound]) socket.on("error", drop).on("close", drop);
    if (frozen) hold(pair);
    else carry(pair);
  });
  const listenOn = async (port: number) => {
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    listening = true;
  };
  await listenOn(0);
  const { port } = server.address() as AddressInfo;
  const stopListening = async () => {
    if (!listening) return;
    listening = false;
    const closed = once(server, "close");
    server.close();
    for (const { inbound, outbound } of pairs) {
      inbound.destroy();
      outbound.destroy();
    }
    await closed;
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    cut: stopListening,
    freeze() {
      frozen = true;
      for (const pair of pairs) hold(pair);
    },
    async restore() {
      if (frozen) {
        frozen = false;
        for (const pair of pairs) {
          carry(pair);
          pair.inbound.resume();
          pair.outbound.resume();
        }
      }
      if (!listening) await listenOn(port);
    },
    close: stopListening,
  };
}
