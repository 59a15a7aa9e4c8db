// A 100 MB job log (issue 17 item 5): streamed with bounded memory while /healthz keeps answering; tail, byte ranges,
// and a single 100 MB line cut to a marked 64 KiB. A real embedded platform; the log is written into its job dir.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";

let p: TestPlatform;
let dir: string;
const MB = 1024 * 1024;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-biglog-"));
  p = await startTestPlatform({}, dir);
}, 60_000);
afterAll(async () => {
  await p.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));

/** A finished job whose rank-0 log is replaced by `write(fd)`. */
async function jobWithLog(write: (fd: number) => void): Promise<string> {
  const { jobId } = await p.api.request<{ jobId: string }>("POST", "/api/v1/jobs", { model: "biglog", command: [process.execPath, "-e", ""] });
  await until("the job ends", async () => ((await p.api.request<{ state: string }>("GET", `/api/v1/jobs/${jobId}`)).state === "succeeded" ? true : undefined));
  const log = walk(dir).find((f) => f.includes(jobId) && f.endsWith("rank-0.log"));
  if (!log) throw new Error("no rank-0.log for the job");
  const fd = fs.openSync(log, "w");
  try {
    write(fd);
  } finally {
    fs.closeSync(fd);
  }
  return jobId;
}

const get = (jobId: string, query = "") => fetch(`${p.url}/api/v1/jobs/${jobId}/logs${query}`, { headers: { authorization: `Bearer ${p.token}` } });

describe("large job logs", () => {
  let manyLines: string;
  let oneLine: string;
  beforeAll(async () => {
    const line = Buffer.from(`${"x".repeat(90)}\n`);
    const block = Buffer.concat(Array.from({ length: 10_000 }, () => line)); // ~0.9 MB
    manyLines = await jobWithLog((fd) => {
      for (let i = 0; i < 110; i++) fs.writeSync(fd, block);
      fs.writeSync(fd, "second to last\nlast line\n");
    });
    oneLine = await jobWithLog((fd) => {
      const chunk = Buffer.alloc(MB, "y");
      for (let i = 0; i < 100; i++) fs.writeSync(fd, chunk);
      fs.writeSync(fd, "\n");
    });
  }, 120_000);

  it("streams a 100 MB log with bounded memory while /healthz answers within 2 s", async () => {
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const res = await get(manyLines);
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    if (!reader) throw new Error("no body");
    let received = 0;
    let slowest = 0;
    let probes = 0;
    const probe = setInterval(() => {
      const started = performance.now();
      void fetch(`${p.url}/healthz`).then(() => {
        slowest = Math.max(slowest, performance.now() - started);
        probes++;
      });
    }, 100);
    try {
      while (received < 100 * MB) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.length;
        peak = Math.max(peak, process.memoryUsage().rss);
      }
    } finally {
      clearInterval(probe);
      await reader.cancel();
    }
    expect(received).toBeGreaterThan(95 * MB);
    expect(probes).toBeGreaterThan(0);
    // Hang limits, not speed goals: before, /healthz waited 12-22 s and memory reached 1.4 GiB. RSS counts garbage the
    // collector has not reclaimed yet: alone this stream peaks well under 300 MB, under the whole suite's parallel load
    // it reached 321-328 MB, so the bound is generous and still far below the buffering it guards against.
    expect(slowest).toBeLessThan(2_000);
    expect(peak - rss0).toBeLessThan(450 * MB);
  }, 120_000);

  it("tail=N gives the last N lines without reading the whole file", async () => {
    expect(await (await get(manyLines, "?tail=2")).text()).toBe("second to last\nlast line\n");
  });

  it("offset and limit give a byte range", async () => {
    const text = await (await get(manyLines, "?offset=91&limit=182")).text();
    expect(text).toBe(`${"x".repeat(90)}\n${"x".repeat(90)}\n`);
  });

  it("a single 100 MB line is cut to 64 KiB with a marker", async () => {
    const whole = await (await get(oneLine)).text();
    expect(whole).toMatch(/^y{65536} \[flywheel: line truncated, 104857600 bytes\]\n$/);
    // tail looks back at most 16 MiB for a line start, so it reports the bytes it saw.
    const tail = await (await get(oneLine, "?tail=1")).text();
    expect(tail).toMatch(/^y{65536} \[flywheel: line truncated, \d+ bytes\]\n$/);
  }, 60_000);

  it("bad tail, offset and limit are 400 naming them", async () => {
    const res = await get(manyLines, "?tail=-1&limit=0");
    expect(res.status).toBe(400);
    const body = JSON.stringify(await res.json());
    expect(body).toContain('"field":"tail"');
    expect(body).toContain('"field":"limit"');
  });
});
