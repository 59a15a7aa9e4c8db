// The shared child-server helper (demo --drift and the e2e servers): ready poll, failure tails, SIGTERM then SIGKILL.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { freePort, startServerProcess, stopChild } from "../../../platform/server-process.ts";

// A real HTTP server in a child node: answers /ready, and on SIGTERM either exits or (stubborn) ignores it.
const serverScript = (port: number, stubborn: boolean): string => `
  const http = require("node:http");
  ${stubborn ? 'process.on("SIGTERM", () => console.error("ignoring SIGTERM"));' : ""}
  http.createServer((req, res) => { res.statusCode = req.url === "/ready" ? 200 : 404; res.end(); }).listen(${port}, "127.0.0.1");
`;

describe("startServerProcess / stopChild", () => {
  it("starts a server, waits until it is ready, and stops it with SIGTERM", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const s = await startServerProcess({ cmd: process.execPath, args: ["-e", serverScript(port, false)], url, readyPath: "/ready", timeoutMs: 10_000 });
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    await s.stop();
    await expect(fetch(`${url}/ready`)).rejects.toThrow();
  });

  it("SIGKILLs a child that ignores SIGTERM once the grace period is over", async () => {
    const child = spawn(process.execPath, ["-e", 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000);'], { stdio: ["ignore", "pipe", "ignore"] });
    await new Promise((r) => child.stdout.once("data", r));
    await stopChild(child, 200);
    expect(child.signalCode).toBe("SIGKILL");
    await stopChild(child, 200); // already gone: resolves at once
  });

  it("throws with the output's tail when the server exits before it is ready", async () => {
    const port = await freePort();
    const run = startServerProcess({ cmd: process.execPath, args: ["-e", 'console.error("bad config line 3"); process.exit(2)'], url: `http://127.0.0.1:${port}`, readyPath: "/ready", timeoutMs: 10_000 });
    await expect(run).rejects.toThrow(/exited 2: bad config line 3/);
  });

  it("throws (and does not crash) when the command cannot be spawned", async () => {
    const port = await freePort();
    const run = startServerProcess({ cmd: "/nonexistent/flywheel-no-such-server", args: [], url: `http://127.0.0.1:${port}`, readyPath: "/ready", timeoutMs: 5_000 });
    await expect(run).rejects.toThrow(/flywheel-no-such-server/);
  });

  it("stops a server that never becomes ready, after the timeout", async () => {
    const port = await freePort();
    const run = startServerProcess({ cmd: process.execPath, args: ["-e", serverScript(port, true).replace('"/ready"', '"/never"')], url: `http://127.0.0.1:${port}`, readyPath: "/ready", timeoutMs: 500, graceMs: 200 });
    await expect(run).rejects.toThrow(/not ready after 0.5 s/);
    await expect(fetch(`http://127.0.0.1:${port}/ready`)).rejects.toThrow();
  });
});
