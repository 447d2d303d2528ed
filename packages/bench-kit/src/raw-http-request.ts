import type { LoadRequest } from "./load-loops.js";

/**
 * One HTTP/1.1 request serialised ahead of time, for the raw-socket load loops: the request line,
 * `Host`, the request's headers and a `Content-Length` (unless given), then the body — so that
 * sending it costs one socket write and nothing else.
 */
export function serializeHttpRequest(host: string, request: LoadRequest): Buffer {
  const body = request.body === undefined ? undefined : Buffer.from(request.body, "utf8");
  let head = `${request.method} ${request.path} HTTP/1.1\r\nHost: ${host}\r\n`;
  let hasLength = false;
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (value === undefined) continue;
    if (/[\r\n]/.test(name) || /[\r\n]/.test(String(value)))
      throw new TypeError(`The header ${name} holds a line break`);
    if (name.toLowerCase() === "content-length") hasLength = true;
    if (name.toLowerCase() === "host") throw new TypeError("Host is set from the target");
    for (const each of Array.isArray(value) ? value : [value]) head += `${name}: ${each}\r\n`;
  }
  if (!hasLength && body !== undefined) head += `Content-Length: ${body.length}\r\n`;
  head += "\r\n";
  const headBytes = Buffer.from(head, "latin1");
  return body === undefined ? headBytes : Buffer.concat([headBytes, body]);
}
