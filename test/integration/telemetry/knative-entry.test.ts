// The Knative runtime end to end: esbuild bundles a function module, the bundle runs as its own process, answers a
// CloudEvent with 2xx, emits through the broker with the PRODUCER span's traceparent, exports spans over OTLP/HTTP
// and serves /metrics with K_SERVICE/K_REVISION default labels and a cold start.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, bundleLauncher, HEAVY_MODULES, presentTargets, RUNTIME_EXTERNALS, type BundleResult } from "../../../platform/build/bundle.ts";
import { cacheFileOf, decodeCache, encodeCache } from "../../../platform/knative/code-cache.ts";
import { parseTraceparent } from "../../../platform/telemetry/index.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-knative-"));
// The image's layout: bundles beside the production node_modules, where the externals (native addons, the data-heavy
// RUNTIME_EXTERNALS) are required at run time.
fs.symlinkSync(path.join(here, "../../../node_modules"), path.join(tmp, "node_modules"));
const received: { url: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
const sink = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    received.push({ url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
    res.writeHead(req.url === "/v1/traces" ? 200 : 202).end(req.url === "/v1/traces" ? "{}" : "");
  });
});
let child: ChildProcess | undefined;
let result: BundleResult;
let port = 0;

beforeAll(async () => {
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
  const sinkPort = (sink.address() as AddressInfo).port;
  const built = await bundle([{ target: "echoTarget", name: "echo", module: path.join(here, "fixtures/echo-function.ts") }], tmp);
  if (!built[0]) throw new Error("no bundle");
  result = built[0];
  child = spawn(process.execPath, [result.outFile], {
    env: {
      PATH: process.env.PATH,
      PORT: "0",
      HOST: "127.0.0.1",
      K_SERVICE: "echo-svc",
      K_REVISION: "echo-svc-00001",
      FLYWHEEL_BROKER_URL: `http://127.0.0.1:${sinkPort}/broker`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`,
      NODE_ENV: "production",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  port = await new Promise<number>((resolve, reject) => {
    let err = "";
    child!.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"listening".*"port":(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child!.once("exit", (code) => reject(new Error(`bundle exited ${code}: ${err.slice(0, 2000)}`)));
  });
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  await new Promise<void>((r) => sink.close(() => r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const UPSTREAM = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async function until<T>(probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("Knative function bundle", () => {
  it("keeps heavy modules out of a function that does not use them and the OTel SDK out of the cold path", () => {
    for (const heavy of HEAVY_MODULES) expect(result.packages, heavy).not.toContain(heavy);
    expect(result.packages).toContain("@google-cloud/functions-framework");
    expect(result.coldBytes).toBeLessThan(result.totalBytes);
    // Their tables are required from node_modules at run time, not compiled as part of the bundle at every cold start.
    for (const m of RUNTIME_EXTERNALS) {
      expect(result.packages, m).not.toContain(m);
      expect(result.externals, m).toContain(m);
    }
  });

  it("answers a CloudEvent with 2xx and emits with a traceparent continuing the caller's trace", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "evt-1",
        "ce-source": "/test",
        "ce-type": "dev.flywheel.test.start",
        "ce-traceparent": UPSTREAM,
      },
      body: "{}",
    });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);
    const emitted = await until(() => received.find((r) => r.url === "/broker"));
    expect(emitted.headers["ce-type"]).toBe("dev.flywheel.test.echoed");
    const sc = parseTraceparent(emitted.headers["ce-traceparent"]);
    expect(sc?.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(sc?.spanId).not.toBe("00f067aa0ba902b7");

    // A second, ignored event: counted as a warm invocation.
    await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      headers: { "content-type": "application/json", "ce-specversion": "1.0", "ce-id": "evt-2", "ce-source": "/test", "ce-type": "dev.flywheel.test.ignored" },
      body: "{}",
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_function_cold_starts_total\{function="echoTarget",service="echo-svc",revision="echo-svc-00001"\} 1\n/);
    expect(metrics).toMatch(/flywheel_function_invocations_total\{function="echoTarget",outcome="success",service="echo-svc",revision="echo-svc-00001"\} 2\n/);
    expect(metrics).toMatch(/flywheel_process_cpu_user_seconds_total\{service="echo-svc",revision="echo-svc-00001"\}/);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it("exports SERVER, CONSUMER, PRODUCER and CLIENT spans of one trace over OTLP/HTTP, service.name from K_SERVICE", async () => {
    interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number }
    interface OtlpBody {
      resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
    }
    const collect = (): { service: string[]; spans: OtlpSpan[] } => {
      const bodies = received.filter((r) => r.url === "/v1/traces").map((r) => JSON.parse(r.body.toString()) as OtlpBody);
      const rs = bodies.flatMap((b) => b.resourceSpans);
      return {
        service: rs.flatMap((r) => r.resource.attributes.filter((a) => a.key === "service.name").map((a) => a.value.stringValue ?? "")),
        spans: rs.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
      };
    };
    // BatchSpanProcessor exports on its 5 s schedule; SIGTERM would flush too, but the child must stay up here.
    const { service, spans } = await until(() => {
      const c = collect();
      return c.spans.some((s) => s.name === "CloudEvents Create dev.flywheel.test.echoed") ? c : undefined;
    }, 15_000);
    expect(new Set(service)).toEqual(new Set(["echo-svc"]));
    const trace = spans.filter((s) => s.traceId === "4bf92f3577b34da6a3ce929d0e0e4736");
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    // OTLP kinds: 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER. Walk up from the fetch to the broker.
    const client = trace.find((s) => s.kind === 3)!;
    const chain: string[] = [];
    for (let s: OtlpSpan | undefined = client; s; s = byId.get(s.parentSpanId ?? "")) chain.push(`${s.kind} ${s.name}`);
    expect(chain.slice(1)).toEqual(["4 CloudEvents Create dev.flywheel.test.echoed", "5 CloudEvents Process dev.flywheel.test.start", "2 POST /"]);
    expect(trace.find((s) => s.kind === 2)?.parentSpanId).toBe("00f067aa0ba902b7");
  });

  it("the image launcher refuses an unknown FUNCTION_TARGET, naming the allowed ones", async () => {
    const launcher = await bundleLauncher(path.join(tmp, "launcher"));
    const out = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [launcher], { env: { PATH: process.env.PATH, FUNCTION_TARGET: "nope" }, stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      p.stderr.on("data", (d: Buffer) => (err += d.toString()));
      p.once("exit", (code) => resolve({ code, err }));
    });
    expect(out.code).toBe(1);
    expect(out.err).toContain("FUNCTION_TARGET: must be one of launchTraining, logModel, deployModel");
    expect(JSON.parse(fs.readFileSync(path.join(tmp, "launcher/package.json"), "utf8"))).toMatchObject({ type: "module" });
  });

  it("lists which repo functions exist to bundle", () => {
    const { present, missing } = presentTargets();
    expect(present.length + missing.length).toBe(9);
  });
});

/** Runs a copy of the echo bundle's folder (its cache changed by `damage`) until /healthz answers; its stderr. */
async function startCopy(name: string, damage: (cacheFile: string) => void, nodeArgs: string[] = []): Promise<{ healthz: number; stderr: string }> {
  const dir = path.join(tmp, `cache-${name}`, "echo");
  fs.cpSync(path.dirname(result.outFile), dir, { recursive: true });
  damage(cacheFileOf(path.join(dir, "function.cjs")));
  const p = spawn(process.execPath, [...nodeArgs, path.join(dir, "index.js")], {
    env: { PATH: process.env.PATH, PORT: "0", HOST: "127.0.0.1", NODE_ENV: "production", FLYWHEEL_BROKER_URL: "http://127.0.0.1:9/" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  try {
    const listening = await new Promise<number>((resolve, reject) => {
      p.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        const m = /"msg":"listening".*"port":(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      p.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr.slice(0, 2000)}`)));
    });
    return { healthz: (await fetch(`http://127.0.0.1:${listening}/healthz`)).status, stderr };
  } finally {
    if (p.exitCode === null) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGKILL");
      await exited;
    }
  }
}

describe("the bundle's V8 code cache", () => {
  it("is written by the build's warm-up and accepted by a start with the same Node and flags", async () => {
    expect(result.codeCacheBytes).toBeGreaterThan(0);
    expect(result.warmUpServed).toBe(true);
    expect(decodeCache(fs.readFileSync(cacheFileOf(path.join(path.dirname(result.outFile), "function.cjs"))))).toBeDefined();
    const out = await startCopy("accepted", () => undefined);
    expect(out.healthz).toBe(200);
    expect(out.stderr).not.toContain("code cache");
  });

  it("a damaged payload (which would abort V8) is refused by its CRC: the function starts without it and says so", async () => {
    const out = await startCopy("corrupt", (f) => {
      const bytes = fs.readFileSync(f);
      for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 64; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
      fs.writeFileSync(f, bytes);
    });
    expect(out.healthz).toBe(200);
    expect(out.stderr).toContain("code cache corrupt");
  });

  it("a cache V8 rejects (other V8 flags than the warm-up's) or none at all only costs the normal compile", async () => {
    const rejected = await startCopy("rejected", () => undefined, ["--max-old-space-size=300"]);
    expect(rejected.healthz).toBe(200);
    expect(rejected.stderr).toContain("code cache rejected");
    const missing = await startCopy("missing", (f) => fs.rmSync(f));
    expect(missing.healthz).toBe(200);
    expect(missing.stderr).toContain("code cache missing");
  });

  it("decodes only what it encoded", () => {
    const data = Buffer.from("v8 bytes");
    expect(decodeCache(encodeCache(data))?.equals(data)).toBe(true);
    expect(decodeCache(data)).toBeUndefined();
    expect(decodeCache(encodeCache(data).subarray(0, 12))).toBeUndefined();
  });
});
