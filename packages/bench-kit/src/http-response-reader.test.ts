import { describe, expect, it } from "vitest";
import { HttpResponseReader } from "./http-response-reader.js";

const response = (status: number, body: string, extra = "") =>
  `HTTP/1.1 ${status} ${status === 200 ? "OK" : "Nope"}\r\nContent-Type: application/json\r\n` +
  `${extra}Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: r1\r\n\r\n${body}`;

/** Feeds `chunks` to a reader; returns every response it read, as status and body text. */
function read(chunks: (string | Buffer)[]): [number, string][] {
  const seen: [number, string][] = [];
  const reader = new HttpResponseReader((status, body) => seen.push([status, body.toString()]));
  for (const chunk of chunks) reader.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  expect(reader.midResponse).toBe(false);
  return seen;
}

describe("HttpResponseReader", () => {
  const allow = '{"decision":"allow","reason":"ok"}';
  const three = response(200, allow) + response(429, '{"x":"é"}') + response(204, "");

  it("reads one response per chunk", () => {
    expect(read([response(200, allow)])).toEqual([[200, allow]]);
  });

  it("reads several responses coalesced in one chunk", () => {
    expect(read([three])).toEqual([
      [200, allow],
      [429, '{"x":"é"}'],
      [204, ""],
    ]);
  });

  it("reads responses split at every byte, and at every single split point", () => {
    const bytes = Buffer.from(three);
    const expected = read([three]);
    expect(read([...bytes].map((byte) => Buffer.from([byte])))).toEqual(expected);
    for (let at = 1; at < bytes.length; at++) {
      expect(read([bytes.subarray(0, at), bytes.subarray(at)]), `split at ${at}`).toEqual(expected);
    }
  });

  it("reads a split that ends a response and starts the next in one chunk", () => {
    const first = response(200, allow);
    const second = response(200, '{"decision":"deny"}');
    const cut = first.length - 3;
    expect(
      read([first.slice(0, cut), first.slice(cut) + second.slice(0, 10), second.slice(10)]),
    ).toEqual([
      [200, allow],
      [200, '{"decision":"deny"}'],
    ]);
  });

  it("reads header names in any case, values with spaces, and a status line without a reason", () => {
    expect(
      read([
        "HTTP/1.1 200\r\ncontent-length:2\r\n\r\nok",
        "HTTP/1.0 503 Busy\r\nCONTENT-LENGTH:  4 \r\nX-Y: a:b\r\n\r\nbusy",
        "HTTP/1.1 201 Created\r\nX-Content-Length: 99\r\nContent-Length: 0\r\n\r\n",
      ]),
    ).toEqual([
      [200, "ok"],
      [503, "busy"],
      [201, ""],
    ]);
  });

  it("knows when it holds part of a response", () => {
    const reader = new HttpResponseReader(() => {});
    reader.push(Buffer.from(response(200, allow).slice(0, 20)));
    expect(reader.midResponse).toBe(true);
  });

  it("refuses what it cannot frame: chunked, no length, a bad length, not HTTP", () => {
    const refuse = (text: string, message: RegExp) =>
      expect(() => read([text]), text).toThrow(message);
    refuse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      /Transfer-Encoding: chunked is not supported/,
    );
    refuse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", /no Content-Length/);
    refuse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", /bad Content-Length/);
    refuse(
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
      /bad Content-Length/,
    );
    refuse("SSH-2.0-OpenSSH\r\n\r\n", /Not an HTTP\/1.x response/);
    refuse("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n", /Not an HTTP\/1.x response/);
    refuse("HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", /Not an HTTP\/1.x response/);
    refuse("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", /bad Content-Length/);
    refuse("HTTP/1.1 200 OK\r\nContent-Length: 1234567890\r\n\r\n", /bad Content-Length/);
    expect(() => read([`HTTP/1.1 200 OK\r\nX: ${"y".repeat(20_000)}`])).toThrow(/too long/);
  });
});
