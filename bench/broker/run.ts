// Bench: ingress -> trigger -> function through the embedded broker, against a raw HTTP POST of the same event to the
// same function, in the same run. Prints a table and one JSON line with the ratios. Run: npx tsx bench/broker/run.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { toHttpBinary } from "../../platform/events/envelope.ts";
import { parseTriggerFile } from "../../platform/eventing/triggers.ts";
import { cloudEventRoute } from "../../platform/fn/hono.ts";
import type { BaseDeps, CloudEventHandler } from "../../platform/fn/types.ts";
import { createDeliver, EmbeddedBroker } from "../../platform/local/broker/index.ts";
import { createLogger } from "../../platform/log.ts";
import { CloudEvent } from "cloudevents";

const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 400);
const THROUGHPUT_EVENTS = Number(process.env.BENCH_THROUGHPUT_EVENTS ?? 2000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const PHASE_BUDGET_MS = 8_000;

const log = createLogger("silent");

// The function: a trivial handler mounted with cloudEventRoute (the embedded glue), behind a real HTTP server.
const seen = new Map<string, number>();
const waiters = new Map<string, () => void>();
const handler: CloudEventHandler<BaseDeps> = async (event) => {
  seen.set(event.id, performance.now());
  waiters.get(event.id)?.();
  waiters.delete(event.id);
  return { status: "done" };
};
const deps: BaseDeps = { log, now: Date.now, bus: { emit: async () => undefined } };

function arrival(id: string): Promise<number> {
  const t = seen.get(id);
  if (t !== undefined) return Promise.resolve(t);
  return new Promise((resolve) => waiters.set(id, () => resolve(seen.get(id) ?? performance.now())));
}

async function listen(app: Hono): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const payload = { model: "iris", features: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 } };
function message(id: string): { headers: Record<string, string>; body: string } {
  return toHttpBinary(
    new CloudEvent<unknown>({ id, source: "/bench/broker", type: "dev.flywheel.bench.work", datacontenttype: "application/json", data: payload }),
  );
}

async function post(url: string, id: string): Promise<number> {
  const { headers, body } = message(id);
  const res = await fetch(url, { method: "POST", headers, body });
  await res.arrayBuffer();
  return res.status;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

interface Result {
  /** Time to the POST's answer (202 from the ingress: durably stored; 200 from the function: handled). */
  ackP50: number;
  p50: number;
  p99: number;
  mean: number;
  throughput: number;
  latencyEvents: number;
  throughputEvents: number;
}

/** Sequential latency (post -> handler invoked), then concurrent throughput (events handled per second). */
async function measure(name: string, url: string, expectStatus: number): Promise<Result> {
  for (let i = 0; i < 50; i++) {
    const id = `${name}-warm-${i}`;
    if ((await post(url, id)) !== expectStatus) throw new Error(`${name}: unexpected status during warm-up`);
    await arrival(id);
  }
  const lat: number[] = [];
  const acked: number[] = [];
  const deadline = performance.now() + PHASE_BUDGET_MS;
  for (let i = 0; i < LATENCY_EVENTS && performance.now() < deadline; i++) {
    const id = `${name}-lat-${i}`;
    const t0 = performance.now();
    const done = arrival(id);
    const status = await post(url, id);
    acked.push(performance.now() - t0);
    if (status !== expectStatus) throw new Error(`${name}: status ${status}`);
    lat.push((await done) - t0);
  }
  lat.sort((a, b) => a - b);
  acked.sort((a, b) => a - b);

  let next = 0;
  let sent = 0;
  const t0 = performance.now();
  const tDeadline = t0 + PHASE_BUDGET_MS;
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < THROUGHPUT_EVENTS && performance.now() < tDeadline) {
        const id = `${name}-tp-${next++}`;
        ids.push(id);
        await post(url, id);
        sent++;
      }
    }),
  );
  const last = Math.max(...(await Promise.all(ids.map((id) => arrival(id)))));
  return {
    ackP50: quantile(acked, 0.5),
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    mean: lat.reduce((a, b) => a + b, 0) / lat.length,
    throughput: sent / ((last - t0) / 1000),
    latencyEvents: lat.length,
    throughputEvents: sent,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = mkdtempSync(path.join(tmpdir(), "flywheel-bench-broker-"));
  const fn = await listen(new Hono().route("/", cloudEventRoute("bench-fn", handler, deps)));
  const file = parseTriggerFile({
    delivery: { retry: 5, backoffPolicy: "exponential", backoffDelay: "PT0.5S" },
    triggers: [{ name: "bench", filters: [{ exact: { type: "dev.flywheel.bench.work" } }], subscriber: { uri: `${fn.url}/` } }],
  });
  const broker = new EmbeddedBroker({ dbPath: path.join(dir, "broker.db"), triggers: file.triggers, deliver: createDeliver({}), log });
  await broker.start();
  const ingress = await listen(new Hono().route("/events", broker.routes()));

  try {
    const raw = await measure("raw", `${fn.url}/`, 200);
    const viaBroker = await measure("broker", `${ingress.url}/events`, 202);
    await broker.idle();
    const ratios = {
      p50: viaBroker.p50 / raw.p50,
      p99: viaBroker.p99 / raw.p99,
      throughput: viaBroker.throughput / raw.throughput,
    };
    const f = (n: number, d = 2): string => n.toFixed(d).padStart(10);
    console.log(`broker bench (${CLIENTS} clients; SQLite WAL, synchronous=FULL; one trigger; function behind real HTTP)`);
    console.log("latency = POST sent -> function handler invoked (sequential); ack = POST answered; throughput with concurrent clients");
    const head = ["ack p50 ms", "p50 ms", "p99 ms", "mean ms", "events/s"].map((h) => h.padStart(11)).join("");
    console.log(`${"path".padEnd(28)}${head}`);
    const row = (label: string, r: Result): string =>
      `${label.padEnd(28)}${[r.ackP50, r.p50, r.p99, r.mean].map((n) => f(n).padStart(11)).join("")}${f(r.throughput, 0).padStart(11)}`;
    console.log(row("raw POST -> function", raw));
    console.log(row("ingress -> trigger -> fn", viaBroker));
    console.log(`${"ratio (broker / raw)".padEnd(28)}${"".padStart(11)}${f(ratios.p50).padStart(11)}${f(ratios.p99).padStart(11)}${"".padStart(11)}${f(ratios.throughput).padStart(11)}`);
    const round = (n: number): number => Math.round(n * 1000) / 1000;
    console.log(
      JSON.stringify({
        bench: "broker",
        clients: CLIENTS,
        raw: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, round(v)])),
        broker: Object.fromEntries(Object.entries(viaBroker).map(([k, v]) => [k, round(v)])),
        ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v)])),
        seconds: round((performance.now() - started) / 1000),
      }),
    );
  } finally {
    await ingress.close();
    await broker.stop();
    await fn.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
