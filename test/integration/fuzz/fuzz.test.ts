// Property-based fuzzing of a real embedded platform (issue 17): >= 10,000 generated requests (fixed seed) across every
// endpoint family. For each: no 5xx and an answer within 10 s; throughout: /healthz answers within 2 s over a real
// socket and memory stays bounded. These are hang limits, not speed goals (speed lives in bench/).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResolvedModel } from "../../../platform/ports.ts";
import { DeploymentSpecSchema } from "../../../platform/specs/deployment.ts";
import { scaleModel } from "../../unit/serving/onnx-fixtures.ts";
import { startTestPlatform, type TestPlatform } from "../../support/platform.ts";
import { COLUMNS, DEPLOYMENT, fuzzRequest, type FuzzRequest } from "./shapes.ts";

const SEED = 17_2026;
const RUNS = 10_500;
const CONCURRENCY = 8;
const HANG_LIMIT_MS = 10_000;
const HEALTH_LIMIT_MS = 2_000;
/** Generous: the run keeps ~10k events, jobs and registry rows; a leak of one long text per request would blow past it. */
const RSS_GROWTH_LIMIT = 768 * 1024 * 1024;
/** Set to a file path to append each request before it is sent: a request that blocks the event loop is the last line. */
const TRACE = process.env.FLYWHEEL_FUZZ_TRACE;

let p: TestPlatform;
let modelDir = "";
beforeAll(async () => {
  p = await startTestPlatform({ FLYWHEEL_LOG_LEVEL: "silent" });
  // One served model (4 float inputs, 4 labels), so /infer reaches parsing, request building and onnxruntime.
  modelDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-fuzz-model-"));
  fs.writeFileSync(path.join(modelDir, "model.onnx"), scaleModel(1, 4));
  const resolved: ResolvedModel = {
    model: DEPLOYMENT,
    version: "1",
    storageUri: `file://${modelDir}`,
    localPath: modelDir,
    flavors: ["onnx"],
    signature: { inputs: COLUMNS.map((name) => ({ name, type: "double" })), outputs: [{ name: "y", type: "float" }] },
    labels: ["a", "b", "c", "d"],
  };
  await p.platform.serving.apply(DeploymentSpecSchema.parse({ kind: "model", name: DEPLOYMENT, model: DEPLOYMENT, version: "1" }), { revision: "fuzz", models: { [DEPLOYMENT]: resolved } });
}, 60_000);
afterAll(async () => {
  await p?.stop();
  fs.rmSync(modelDir, { recursive: true, force: true });
});

interface Finding {
  readonly family: string;
  readonly request: string;
  readonly problem: string;
}

/** A short, printable description of a request for the failure report (long bodies summarised by size and head). */
function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? "" : ` body(${r.body.length} chars): ${JSON.stringify(r.body.slice(0, 160))}`;
  const headers = Object.keys(r.headers).length ? ` headers: ${JSON.stringify(r.headers).slice(0, 300)}` : "";
  return `${r.method} ${r.path.slice(0, 200)}${r.path.length > 200 ? `…(${r.path.length})` : ""} [${r.auth}]${headers}${body}`;
}

async function send(r: FuzzRequest): Promise<{ status: number; ms: number; error?: string }> {
  const headers: Record<string, string> = { ...r.headers };
  if (r.auth === "admin" && p.token) headers.authorization = `Bearer ${p.token}`;
  const started = performance.now();
  try {
    // In-process through the same Hono app the listener serves: the full middleware stack, without a socket per request.
    const res = await p.platform.app.fetch(new Request(`${p.url}${r.path}`, { method: r.method, headers, body: r.method === "GET" || r.method === "HEAD" ? undefined : r.body, signal: AbortSignal.timeout(HANG_LIMIT_MS) }));
    // An event stream (log follow) never ends by design: its headers are the answer.
    if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) await res.body?.cancel();
    else await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  } catch (e) {
    return { status: 0, ms: performance.now() - started, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

describe("fuzzing every endpoint family of the embedded platform", () => {
  it(`${RUNS} generated requests (seed ${SEED}): no 5xx, no hang, /healthz alive, memory bounded`, async () => {
    const requests = fc.sample(fuzzRequest, { seed: SEED, numRuns: RUNS });
    const findings: Finding[] = [];
    const perFamily = new Map<string, number>();
    const statuses = new Map<number, number>();

    // Liveness over a real socket, concurrently: a blocked event loop shows up as a late or missing answer.
    let polling = true;
    let worstHealthMs = 0;
    let healthFailures = 0;
    const poller = (async () => {
      while (polling) {
        const t = performance.now();
        try {
          const res = await fetch(`${p.url}/healthz`, { signal: AbortSignal.timeout(HEALTH_LIMIT_MS * 5) });
          await res.arrayBuffer();
          if (res.status !== 200) healthFailures++;
        } catch {
          healthFailures++;
        }
        worstHealthMs = Math.max(worstHealthMs, performance.now() - t);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i];
        if (!r) continue;
        perFamily.set(r.family, (perFamily.get(r.family) ?? 0) + 1);
        if (TRACE) fs.appendFileSync(TRACE, `${i} ${describeRequest(r)}\n`);
        const out = await send(r);
        if (TRACE && out.ms > 1000) fs.appendFileSync(TRACE, `SLOW ${Math.round(out.ms)} ms: ${i}\n`);
        statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1);
        if (out.error) findings.push({ family: r.family, request: describeRequest(r), problem: `no answer: ${out.error}` });
        else if (out.status >= 500) findings.push({ family: r.family, request: describeRequest(r), problem: `HTTP ${out.status}` });
        if (out.ms > HANG_LIMIT_MS) findings.push({ family: r.family, request: describeRequest(r), problem: `answered after ${Math.round(out.ms)} ms` });
        if (i % 250 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = performance.now() - started;
    polling = false;
    await poller;
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);

    const summary = {
      requests: requests.length,
      seconds: Math.round(elapsed / 100) / 10,
      perFamily: Object.fromEntries([...perFamily].sort()),
      statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
      worstHealthMs: Math.round(worstHealthMs),
      healthFailures,
      rssGrowthMiB: Math.round((rssPeak - rssBefore) / 1024 / 1024),
    };
    console.log(`fuzz summary ${JSON.stringify(summary)}`);
    // Group findings by family and problem so one root cause reads as one line with an example.
    const grouped = new Map<string, { count: number; example: string }>();
    for (const f of findings) {
      const key = `${f.family} · ${f.problem.replace(/\d+ ms/, "N ms")}`;
      const g = grouped.get(key) ?? { count: 0, example: f.request };
      g.count++;
      grouped.set(key, g);
    }
    const report = [...grouped].map(([k, g]) => `${g.count}× ${k}\n    e.g. ${g.example}`).join("\n");

    expect(requests.length).toBeGreaterThanOrEqual(10_000);
    expect(perFamily.size).toBeGreaterThanOrEqual(12);
    expect(report, report).toBe("");
    const seen = JSON.stringify(summary);
    expect(healthFailures, `/healthz did not answer: ${seen}`).toBe(0);
    expect(worstHealthMs, `/healthz answered too late: ${seen}`).toBeLessThan(HEALTH_LIMIT_MS);
    expect(rssPeak - rssBefore, `memory grew too much: ${seen}`).toBeLessThan(RSS_GROWTH_LIMIT);
  }, 600_000);
});
