// Bench: ingress -> trigger -> function through the embedded broker, against a raw HTTP POST of the same event to the
// same function, interleaved, in 3 rounds (medians). Prints tables and one JSON line. Run: npx tsx bench/broker/run.ts
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
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
/** Rounds; the figures are medians over them, the ratios medians of each round's ratio. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

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

interface Path {
  readonly name: string;
  readonly url: string;
  readonly expect: number;
}

async function warm(p: Path): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const id = `${p.name}-warm-${i}`;
    if ((await post(p.url, id)) !== p.expect) throw new Error(`${p.name}: unexpected status during warm-up`);
    await arrival(id);
  }
}

/** One sequential event (post -> handler invoked): [latency, ack]. */
async function once(p: Path, id: string): Promise<[number, number]> {
  const t0 = performance.now();
  const done = arrival(id);
  const status = await post(p.url, id);
  const ack = performance.now() - t0;
  if (status !== p.expect) throw new Error(`${p.name}: status ${status}`);
  return [(await done) - t0, ack];
}

/**
 * One round: sequential latency with the two paths interleaved event by event (machine noise hits both alike), then
 * concurrent throughput (events handled per second), raw first, then the broker.
 */
async function round(r: number, paths: readonly [Path, Path]): Promise<[Result, Result]> {
  const lat = paths.map(() => [] as number[]);
  const acked = paths.map(() => [] as number[]);
  const deadline = performance.now() + PHASE_BUDGET_MS;
  for (let i = 0; i < LATENCY_EVENTS && performance.now() < deadline; i++) {
    for (const [k, p] of paths.entries()) {
      const [l, a] = await once(p, `${p.name}-r${r}-lat-${i}`);
      lat[k]?.push(l);
      acked[k]?.push(a);
    }
  }
  const out: Result[] = [];
  for (const [k, p] of paths.entries()) {
    const l = (lat[k] ?? []).sort((a, b) => a - b);
    const a = (acked[k] ?? []).sort((x, y) => x - y);
    const tp = await throughput(p, r);
    out.push({ ackP50: quantile(a, 0.5), p50: quantile(l, 0.5), p99: quantile(l, 0.99), mean: l.reduce((x, y) => x + y, 0) / l.length, ...tp, latencyEvents: l.length });
  }
  const [raw, broker] = out;
  if (!raw || !broker) throw new Error("round without results");
  return [raw, broker];
}

async function throughput(p: Path, r: number): Promise<{ throughput: number; throughputEvents: number }> {
  let next = 0;
  let sent = 0;
  const t0 = performance.now();
  const tDeadline = t0 + PHASE_BUDGET_MS;
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < THROUGHPUT_EVENTS && performance.now() < tDeadline) {
        const id = `${p.name}-r${r}-tp-${next++}`;
        ids.push(id);
        await post(p.url, id);
        sent++;
      }
    }),
  );
  const last = Math.max(...(await Promise.all(ids.map((id) => arrival(id)))));
  return { throughput: sent / ((last - t0) / 1000), throughputEvents: sent };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Per field, the median over the rounds. */
function medianOf(rs: readonly Result[]): Result {
  const m = (f: (r: Result) => number): number => median(rs.map(f));
  return {
    ackP50: m((r) => r.ackP50), p50: m((r) => r.p50), p99: m((r) => r.p99), mean: m((r) => r.mean),
    throughput: m((r) => r.throughput), latencyEvents: m((r) => r.latencyEvents), throughputEvents: m((r) => r.throughputEvents),
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
    const paths: [Path, Path] = [{ name: "raw", url: `${fn.url}/`, expect: 200 }, { name: "broker", url: `${ingress.url}/events`, expect: 202 }];
    for (const p of paths) await warm(p);
    const rounds: { raw: Result; broker: Result; load: number[] }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const [raw, viaBroker] = await round(r, paths);
      await broker.idle();
      rounds.push({ raw, broker: viaBroker, load: os.loadavg() });
    }
    const raw = medianOf(rounds.map((r) => r.raw));
    const viaBroker = medianOf(rounds.map((r) => r.broker));
    const ratios = {
      p50: median(rounds.map((r) => r.broker.p50 / r.raw.p50)),
      p99: median(rounds.map((r) => r.broker.p99 / r.raw.p99)),
      p99OverRawMs: median(rounds.map((r) => r.broker.p99 - r.raw.p99)),
      throughput: median(rounds.map((r) => r.broker.throughput / r.raw.throughput)),
    };
    const f = (n: number, d = 2): string => n.toFixed(d).padStart(10);
    console.log(`broker bench (${CLIENTS} clients; SQLite WAL, synchronous=FULL: one fsync per group commit before the 202; one trigger; function behind real HTTP)`);
    console.log("latency = POST sent -> function handler invoked (sequential, the two paths interleaved); ack = POST answered; throughput with concurrent clients");
    const head = ["ack p50 ms", "p50 ms", "p99 ms", "mean ms", "events/s"].map((h) => h.padStart(11)).join("");
    const row = (label: string, r: Result): string =>
      `${label.padEnd(28)}${[r.ackP50, r.p50, r.p99, r.mean].map((n) => f(n).padStart(11)).join("")}${f(r.throughput, 0).padStart(11)}`;
    for (const [i, r] of rounds.entries()) {
      console.log(`round ${i + 1} (load average ${r.load.map((l) => l.toFixed(1)).join(" ")})`);
      console.log(`${"path".padEnd(28)}${head}`);
      console.log(row("raw POST -> function", r.raw));
      console.log(row("ingress -> trigger -> fn", r.broker));
      console.log(`${"broker p99 - raw p99 (ms)".padEnd(28)}${"".padStart(33)}${f(r.broker.p99 - r.raw.p99).padStart(11)}`);
    }
    console.log(`median of ${ROUNDS} rounds`);
    console.log(row("raw POST -> function", raw));
    console.log(row("ingress -> trigger -> fn", viaBroker));
    console.log(`${"ratio (broker / raw)".padEnd(28)}${"".padStart(11)}${f(ratios.p50).padStart(11)}${f(ratios.p99).padStart(11)}${"".padStart(11)}${f(ratios.throughput).padStart(11)}`);
    console.log(`${"broker p99 - raw p99 (ms)".padEnd(28)}${"".padStart(22)}${f(ratios.p99OverRawMs).padStart(11)}`);
    const round3 = (n: number): number => Math.round(n * 1000) / 1000;
    const rounded = (r: Result): Record<string, number> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round3(v)]));
    console.log(
      JSON.stringify({
        bench: "broker",
        clients: CLIENTS,
        rounds: rounds.map((r) => ({ raw: rounded(r.raw), broker: rounded(r.broker), load: r.load.map(round3) })),
        raw: rounded(raw),
        broker: rounded(viaBroker),
        ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round3(v)])),
        seconds: round3((performance.now() - started) / 1000),
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
