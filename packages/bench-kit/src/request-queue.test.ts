import { describe, expect, it } from "vitest";
import { createRequestQueue } from "./request-queue.js";

describe("createRequestQueue", () => {
  it("hands out each request once, in order, then nothing", () => {
    const requests = [
      "GET / HTTP/1.1\r\n\r\n",
      "",
      "POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
    ];
    const queue = createRequestQueue(requests.map((text) => Buffer.from(text)));
    expect(queue.size).toBe(3);
    expect(queue.next()?.toString()).toBe(requests[0]);
    expect(queue.next()?.toString()).toBe(requests[1]);
    expect(queue.next()?.toString()).toBe(requests[2]);
    expect(queue.next()).toBeUndefined();
    expect(queue.next()).toBeUndefined();
  });

  it("holds nothing for no requests", () => {
    expect(createRequestQueue([]).next()).toBeUndefined();
  });
});
