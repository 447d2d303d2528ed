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
        this.#head = readHead(buffer, end, end + HEAD_END.length);
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

const CR = 13;
const LF = 10;
const COLON = 58;
const CONTENT_LENGTH = Buffer.from("content-length", "latin1");
const TRANSFER_ENCODING = Buffer.from("transfer-encoding", "latin1");
const HTTP_1 = Buffer.from("HTTP/1.", "latin1");

// Read from the bytes, without building strings: a load generator reads tens of thousands of
// heads a second, and what it allocates it must also collect, stalling its sends.
function readHead(
  buffer: Buffer,
  headEnd: number,
  bodyStart: number,
): { status: number; bodyStart: number; length: number } {
  const fail = (why: string): never => {
    throw new Error(`${why}: ${buffer.toString("latin1", 0, Math.min(headEnd, 200))}`);
  };
  // "HTTP/1.x NNN" then a space or the end of the line.
  if (
    buffer.compare(HTTP_1, 0, HTTP_1.length, 0, HTTP_1.length) !== 0 ||
    (buffer[7] !== 48 && buffer[7] !== 49) ||
    buffer[8] !== 32 ||
    !(isDigit(buffer[9]) && isDigit(buffer[10]) && isDigit(buffer[11])) ||
    (buffer[12] !== 32 && buffer[12] !== CR)
  ) {
    fail("Not an HTTP/1.x response");
  }
  const status =
    ((buffer[9] as number) - 48) * 100 +
    ((buffer[10] as number) - 48) * 10 +
    ((buffer[11] as number) - 48);
  let length: number | undefined;
  let line = buffer.indexOf(LF, 0) + 1;
  while (line > 0 && line < headEnd) {
    let end = buffer.indexOf(LF, line);
    if (end < 0 || end > headEnd) end = headEnd;
    const colon = buffer.indexOf(COLON, line);
    if (colon > line && colon < end) {
      if (isName(buffer, line, colon, TRANSFER_ENCODING)) {
        const value = buffer.toString("latin1", colon + 1, end).trim();
        fail(`A response with Transfer-Encoding: ${value} is not supported`);
      }
      if (isName(buffer, line, colon, CONTENT_LENGTH)) {
        const value = readDecimal(buffer, colon + 1, end);
        if (value === undefined || (length !== undefined && length !== value))
          fail("A response has a bad Content-Length");
        length = value;
      }
    }
    line = end + 1;
  }
  if (length === undefined) return fail("A response has no Content-Length");
  return { status, bodyStart, length };
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 48 && byte <= 57;
}

/** Whether the header name in `buffer[start, end)` (trimmed) is `name`, in any case. */
function isName(buffer: Buffer, start: number, end: number, name: Buffer): boolean {
  let from = start;
  let to = end;
  while (from < to && buffer[from] === 32) from++;
  while (to > from && buffer[to - 1] === 32) to--;
  if (to - from !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    // ASCII letters compare case-insensitively with the lower-case name.
    if (((buffer[from + i] as number) | 0x20) !== name[i]) return false;
  }
  return true;
}

/** The whole number in `buffer[start, end)` between optional spaces and a CR, or `undefined`. */
function readDecimal(buffer: Buffer, start: number, end: number): number | undefined {
  let at = start;
  while (at < end && buffer[at] === 32) at++;
  let value = 0;
  let digits = 0;
  while (at < end && isDigit(buffer[at])) {
    value = value * 10 + ((buffer[at] as number) - 48);
    digits++;
    at++;
  }
  while (at < end && (buffer[at] === 32 || buffer[at] === CR)) at++;
  return digits === 0 || digits > 9 || at !== end ? undefined : value;
}
