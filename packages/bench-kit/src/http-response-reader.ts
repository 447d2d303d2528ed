const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
/** Longer heads are not what the services send: a broken stream, not a slow one. */
const MAX_HEAD_BYTES = 16 * 1024;

/** One HTTP/1.1 response as the load generator needs it: its status and its body's bytes. */
export type OnHttpResponse = (status: number, body: Buffer) => void;

/**
 * Reads the HTTP/1.1 responses of one keep-alive connection, whatever way the bytes arrive —
 * one response split over many chunks at any byte, or several responses in one chunk — with the
 * least framing a benchmark's load generator needs: the status line and `Content-Length`. A
 * response framed otherwise (chunked transfer coding, no length) is refused with an error, as is
 * anything that is not an HTTP/1.x response: every AgentAuth service sends a length, and a
 * benchmark must fail rather than count what it cannot read.
 */
export class HttpResponseReader {
  readonly #onResponse: OnHttpResponse;
  /** Bytes received and not yet part of a complete response. */
  #pending: Buffer | undefined;
  /** The head of the response being read, once complete. */
  #head: { status: number; bodyStart: number; length: number } | undefined;

  constructor(onResponse: OnHttpResponse) {
    this.#onResponse = onResponse;
  }

  /** Whether part of a response has arrived and not the rest. */
  get midResponse(): boolean {
    return this.#pending !== undefined;
  }

  /** Takes the next bytes of the connection; calls back for every response they complete. */
  push(chunk: Buffer): void {
    let buffer = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    for (;;) {
      if (this.#head === undefined) {
        const end = buffer.indexOf(HEAD_END);
        if (end < 0) {
          if (buffer.length > MAX_HEAD_BYTES) throw new Error("The response head is too long");
          if (buffer.length > 0) this.#pending = buffer;
          return;
        }
        this.#head = readHead(buffer.toString("latin1", 0, end), end + HEAD_END.length);
      }
      const { status, bodyStart, length } = this.#head;
      const bodyEnd = bodyStart + length;
      if (buffer.length < bodyEnd) {
        this.#pending = buffer;
        return;
      }
      this.#head = undefined;
      this.#onResponse(status, buffer.subarray(bodyStart, bodyEnd));
      if (buffer.length === bodyEnd) return;
      buffer = buffer.subarray(bodyEnd);
    }
  }
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |$)/;

function readHead(
  head: string,
  bodyStart: number,
): {
  status: number;
  bodyStart: number;
  length: number;
} {
  const status = STATUS_LINE.exec(head);
  if (status === null) throw new Error(`Not an HTTP/1.x response: ${head.slice(0, 80)}`);
  let length: number | undefined;
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "transfer-encoding")
      throw new Error(`A response with Transfer-Encoding: ${value} is not supported`);
    if (name === "content-length") {
      if (!/^\d{1,9}$/.test(value) || (length !== undefined && length !== Number(value)))
        throw new Error(`A response has a bad Content-Length: ${value}`);
      length = Number(value);
    }
  }
  if (length === undefined) throw new Error("A response has no Content-Length");
  return { status: Number(status[1]), bodyStart, length };
}
