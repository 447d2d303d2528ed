import { once } from "node:events";
import type { Server } from "node:http";
import type { Logger } from "pino";

/** How long a stop waits for requests in flight before closing their connections. */
const SHUTDOWN_GRACE_MS = 5_000;

/** Listens on `port` of `host`; rejects if the port is taken. */
export async function listen(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([
    once(server, "listening"),
    once(server, "error").then(([error]) => Promise.reject(error)),
  ]);
}

/**
 * Stops accepting, lets requests in flight finish (idle keep-alive connections are closed at
 * once), and cuts off what is still busy after the grace period.
 */
export async function closeServer(server: Server, graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const idle = setInterval(() => server.closeIdleConnections(), 50);
  const grace = setTimeout(() => server.closeAllConnections(), graceMs);
  server.closeIdleConnections();
  await closed;
  clearInterval(idle);
  clearTimeout(grace);
}

/**
 * Stops `stop` once on the first SIGINT or SIGTERM (a second signal while stopping is ignored),
 * then exits: 0 when it stopped cleanly, 1 otherwise. The launcher and Ctrl+C both end here.
 */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    stop().then(
      () => logger.flush(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        logger.flush(() => process.exit(1));
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
