import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { serializeHttpRequest } from "./raw-http-request.js";
import { runRawClosedLoop, runRawLivenessLoop, runRawOpenLoop } from "./raw-load-loops.js";

// The raw loops against a real node:http server: every request it receives is answered, every
// answer is checked, and anything wrong fails the run.

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(
  answer: (req: IncomingMessage, body: string, res: ServerResponse, count: number) => void,
): Promise<{ url: string; received: () => number; bodies: string[] }> {
  let received = 0;
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      received++;
      bodies.push(body);
      answer(req, body, res, received);
    });
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    bodies,
  };
}

const json = (res: ServerResponse, status: number, text: string) => {
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
};
const allow = (_req: IncomingMessage, _body: string, res: ServerResponse) =>
  json(res, 200, '{"decision":"allow"}');
const PREFIX = Buffer.from('{"decision":"allow"');
const isAllow = (status: number, body: Buffer) =>
  status === 200 && body.subarray(0, PREFIX.length).equals(PREFIX)
    ? undefined
    : `not an allow: ${status} ${body}`;
const request = (n: number) =>
  serializeHttpRequest("localhost", {
    method: "POST",
    path: "/v1/verify",
    headers: { "content-type": "application/json", authorization: "Bearer k" },
    body: JSON.stringify({ n, note: "é" }),
  });

describe("serializeHttpRequest", () => {
  it("writes the request line, Host, the headers, a Content-Length and the body", () => {
    expect(
      serializeHttpRequest("localhost:1", {
        method: "POST",
        path: "/x?y=1",
        headers: { a: "1", b: ["2", "3"] },
        body: "é",
      }).toString("utf8"),
    ).toBe(
      "POST /x?y=1 HTTP/1.1\r\nHost: localhost:1\r\na: 1\r\nb: 2\r\nb: 3\r\nContent-Length: 2\r\n\r\né",
    );
    expect(serializeHttpRequest("h", { method: "GET", path: "/" }).toString()).toBe(
      "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    );
  });

  it("refuses a header holding a line break, and a Host of its own", () => {
    expect(() =>
      serializeHttpRequest("h", { method: "GET", path: "/", headers: { a: "1\r\nb: 2" } }),
    ).toThrow(TypeError);
    expect(() =>
      serializeHttpRequest("h", { method: "GET", path: "/", headers: { host: "x" } }),
    ).toThrow(TypeError);
  });
});

describe("runRawClosedLoop", () => {
  it("sends the prepared requests in order and checks every answer", async () => {
    const service = await serve(allow);
    let next = 0;
    let checked = 0;
    const measurement = await runRawClosedLoop({
      targets: [service.url],
      connections: 4,
      warmupMs: 100,
      durationMs: 300,
      next: () => request(next++),
      check: (status, body) => {
        checked++;
        return isAllow(status, body);
      },
    });
    expect(measurement.completed).toBeGreaterThan(50);
    expect(measurement.completed).toBeLessThanOrEqual(checked);
    // Everything sent was answered and checked; the bodies arrived whole, in order per send.
    expect(service.received()).toBe(checked);
    expect(checked).toBe(next);
    expect(service.bodies.map((body) => JSON.parse(body).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: next }, (_, i) => i),
    );
    expect(measurement.latencyMs.count).toBe(measurement.completed);
    expect(measurement.latencyMs.p50).toBeGreaterThan(0);
    expect(measurement.endedEarly).toBe(false);
  });

  it("fails the run on the first answer that is not an allow", async () => {
    const service = await serve((req, body, res, count) =>
      count === 40 ? json(res, 200, '{"decision":"deny"}') : allow(req, body, res),
    );
    let next = 0;
    await expect(
      runRawClosedLoop({
        targets: [service.url],
        connections: 2,
        warmupMs: 50,
        durationMs: 2000,
        next: () => request(next++),
        check: isAllow,
      }),
    ).rejects.toThrow('not an allow: 200 {"decision":"deny"}');
  });

  it("ends early when the prepared requests run out", async () => {
    const service = await serve(allow);
    let next = 0;
    const measurement = await runRawClosedLoop({
      targets: [service.url],
      connections: 3,
      warmupMs: 20,
      durationMs: 5000,
      next: () => (next < 5000 ? request(next++) : undefined),
      check: isAllow,
    });
    expect(measurement.endedEarly).toBe(true);
    expect(service.received()).toBe(5000);
    expect(measurement.seconds).toBeLessThan(5);
  });

  it("fails the run when the service closes a connection, or answers unframed", async () => {
    const closing = await serve((req, body, res, count) =>
      count === 10 ? req.socket.destroy() : allow(req, body, res),
    );
    const options = { connections: 2, warmupMs: 20, durationMs: 2000, check: isAllow };
    let next = 0;
    await expect(
      runRawClosedLoop({ ...options, targets: [closing.url], next: () => request(next++) }),
    ).rejects.toThrow("closed a connection");
    // Written in two parts with no length, node:http sends it chunked.
    const chunked = await serve((_req, _body, res) => {
      res.write('{"decision":');
      res.end('"allow"}');
    });
    await expect(
      runRawClosedLoop({ ...options, targets: [chunked.url], next: () => request(next++) }),
    ).rejects.toThrow("Transfer-Encoding: chunked is not supported");
  });

  it("spreads its connections over the targets", async () => {
    const [a, b] = await Promise.all([serve(allow), serve(allow)]);
    let next = 0;
    await runRawClosedLoop({
      targets: [a?.url as string, b?.url as string],
      connections: 2,
      warmupMs: 20,
      durationMs: 100,
      next: () => request(next++),
      check: isAllow,
    });
    expect(a?.received()).toBeGreaterThan(10);
    expect(b?.received()).toBeGreaterThan(10);
  });
});

describe("runRawLivenessLoop", () => {
  it("asks GET /health/live and fails on anything but a 200", async () => {
    const live = await serve((req, _body, res) =>
      req.url === "/health/live" && req.method === "GET"
        ? json(res, 200, "{}")
        : json(res, 404, "{}"),
    );
    const timing = { connections: 2, warmupMs: 20, durationMs: 100 };
    expect(
      (await runRawLivenessLoop({ ...timing, targets: [live.url] })).completed,
    ).toBeGreaterThan(10);
    const down = await serve((_req, _body, res) => json(res, 503, "{}"));
    await expect(runRawLivenessLoop({ ...timing, targets: [down.url] })).rejects.toThrow(
      "GET /health/live answered 503",
    );
  });
});

describe("runRawOpenLoop", () => {
  it("starts requests on schedule and awaits every one it counts", async () => {
    const service = await serve(allow);
    let next = 0;
    const measurement = await runRawOpenLoop({
      targets: [service.url],
      connections: 4,
      ratePerSecond: 1000,
      warmupMs: 100,
      durationMs: 500,
      next: () => request(next++),
      check: isAllow,
    });
    // About 500 scheduled in the window, all answered; the timer is coarse, not the schedule.
    expect(measurement.offeredPerSecond).toBeGreaterThan(900);
    expect(measurement.offeredPerSecond).toBeLessThan(1100);
    expect(measurement.completed).toBe(
      Math.round(measurement.offeredPerSecond * measurement.seconds),
    );
    expect(service.received()).toBe(next);
  });

  it("counts the wait for a busy connection in the latency", async () => {
    // A service that takes 20 ms per answer, one connection, 200 requests a second: each request
    // waits for those before it, and the latency says so.
    const service = await serve((req, body, res) => setTimeout(() => allow(req, body, res), 20));
    let next = 0;
    const measurement = await runRawOpenLoop({
      targets: [service.url],
      connections: 1,
      ratePerSecond: 200,
      warmupMs: 20,
      durationMs: 300,
      next: () => request(next++),
      check: isAllow,
    });
    expect(measurement.latencyMs.max).toBeGreaterThan(100);
    // Written once a connection is free: from then on, the service answered in about 20 ms.
    expect(measurement.fromSendLatencyMs.count).toBe(measurement.latencyMs.count);
    expect(measurement.fromSendLatencyMs.max).toBeLessThan(measurement.latencyMs.max);
    expect(measurement.fromSendLatencyMs.p50).toBeGreaterThanOrEqual(19);
    expect(measurement.completed).toBe(
      Math.round(measurement.offeredPerSecond * measurement.seconds),
    );
  });
});
