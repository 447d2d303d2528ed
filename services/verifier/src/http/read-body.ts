import type { IncomingMessage } from "node:http";
import { HttpProblem } from "./http-problem.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads a request body of at most `maxBytes` as UTF-8 text, refusing other content types. */
export function readBody(
  req: IncomingMessage,
  mediaType: string,
  maxBytes: number,
): Promise<string> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== mediaType) {
    return Promise.reject(
      new HttpProblem("ERR_UNSUPPORTED_MEDIA_TYPE", `Send the body as ${mediaType}`),
    );
  }
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // Answered at once (the caller closes the connection); the rest is read and dropped.
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      try {
        resolve(utf8.decode(body));
      } catch {
        reject(new HttpProblem("ERR_INVALID_REQUEST", "The body is not valid UTF-8"));
      }
    });
    req.on("error", reject);
  });
}

function tooLarge(maxBytes: number): HttpProblem {
  return new HttpProblem("ERR_PAYLOAD_TOO_LARGE", `The body must be at most ${maxBytes} bytes`);
}
