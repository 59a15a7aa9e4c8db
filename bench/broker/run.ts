// Bench: ingress -> trigger -> function through the embedded broker, against a raw HTTP POST of the same event to the
// same function, interleaved, in 3 rounds (medians): sequential, open-loop at a fixed modest rate, and closed-loop
// throughput; with the broker's phase timings, the event-loop delay and the disk's fdatasync floor. Prints tables and
// one JSON line. Run: npx tsx bench/broker/run.ts (BENCH_DIR=/dev/shm puts the database on tmpfs).
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
import { benchMark, collectPhases, fsyncFloor, phaseStats, printSteps, withLoopDelay } from "./phases.ts";

const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 400);
const THROUGHPUT_EVENTS = Number(process.env.BENCH_THROUGHPUT_EVENTS ?? 2000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const PHASE_BUDGET_MS = 8_000;
/** Rounds; the figures are medians over them, the ratios medians of each round's ratio. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Open loop: events per second sent on each path (interleaved), whatever the answers do, for OPEN_SECONDS. */
const RATE = Number(process.env.BENCH_RATE ?? 20);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? 5);
const DIR = process.env.BENCH_DIR ?? tmpdir();

const log = createLogger("silent");

// The function: a trivial handler mounted with cloudEventRoute (the embedded glue), behind a real HTTP server.
const seen = new Map<string, number>();
const waiters = new Map<string, () => void>();
const handler: CloudEventHandler<BaseDeps> = async (event) => {
  const t = performance.now();
  seen.set(event.id, t);
  benchMark(event.id, "handler", t);
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

/** Latency of one path in one section: POST sent -> handler invoked, and POST sent -> POST answered (the ack). */
interface Lat {
  readonly p50: number;
  readonly p99: number;
  readonly ackP50: number;
  readonly ackP99: number;
  readonly n: number;
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

/** One event (post -> handler invoked), timed from t0 (an open loop passes the time it meant to send): [latency, ack]. */
async function once(p: Path, id: string, t0 = performance.now()): Promise<[number, number]> {
  benchMark(id, "client", t0);
  const done = arrival(id);
  const status = await post(p.url, id);
  const acked = performance.now();
  benchMark(id, "ack", acked);
  if (status !== p.expect) throw new Error(`${p.name}: status ${status}`);
  return [(await done) - t0, acked - t0];
}

function stats(l: number[], a: number[]): Lat {
  l.sort((x, y) => x - y);
  a.sort((x, y) => x - y);
  return { p50: quantile(l, 0.5), p99: quantile(l, 0.99), ackP50: quantile(a, 0.5), ackP99: quantile(a, 0.99), n: l.length };
}

type Section = { raw: Lat; broker: Lat; ids: string[] };

/** Sequential: one event at a time, the two paths interleaved event by event (machine noise hits both alike). */
async function sequential(r: number, paths: readonly [Path, Path]): Promise<Section> {
  const lat: [number[], number[]] = [[], []];
  const ack: [number[], number[]] = [[], []];
  const ids: string[] = [];
  const deadline = performance.now() + PHASE_BUDGET_MS;
  for (let i = 0; i < LATENCY_EVENTS && performance.now() < deadline; i++) {
    for (const k of [0, 1] as const) {
      const id = `${paths[k].name}-r${r}-seq-${i}`;
      if (k === 1) ids.push(id);
      const [l, a] = await once(paths[k], id);
      lat[k].push(l);
      ack[k].push(a);
    }
  }
  return { raw: stats(lat[0], ack[0]), broker: stats(lat[1], ack[1]), ids };
}

/**
 * Open loop: every 1000/RATE ms one event on each path (which goes first alternates), sent whatever earlier ones are
 * doing, and timed from when it was due, so a stalled loop counts (no coordinated omission). A modest rate keeps the
 * tail from being mere queueing at saturation.
 */
async function openLoop(r: number, paths: readonly [Path, Path]): Promise<Section> {
  const lat: [number[], number[]] = [[], []];
  const ack: [number[], number[]] = [[], []];
  const ids: string[] = [];
  const period = 1000 / RATE;
  const n = Math.round(RATE * OPEN_SECONDS);
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + i * period;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    for (const k of i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
      const id = `${paths[k].name}-r${r}-open-${i}`;
      if (k === 1) ids.push(id);
      pending.push(
        once(paths[k], id, due).then(([l, a]) => {
          lat[k].push(l);
          ack[k].push(a);
        }),
      );
    }
  }
  await Promise.all(pending);
  return { raw: stats(lat[0], ack[0]), broker: stats(lat[1], ack[1]), ids };
}

/**
 * Closed loop: CLIENTS concurrent senders; events handled per second, and the process's CPU time (all threads: the
 * fsync pool and checkpoint worker too) per event, the figure a loaded machine does not blur.
 */
async function throughput(p: Path, r: number): Promise<{ perSecond: number; cpuUs: number }> {
  const cpu0 = process.cpuUsage();
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
  phaseStats(ids); // not reported: forget their marks
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: sent / ((last - t0) / 1000), cpuUs: (cpu.user + cpu.system) / sent };
}

interface Round {
  readonly seq: Section;
  readonly open: Section;
  readonly tp: { raw: number; broker: number; rawCpuUs: number; brokerCpuUs: number };
  readonly loopDelay: { seq: { p99: number; max: number }; open: { p99: number; max: number } };
  readonly fsync: ReturnType<typeof fsyncFloor>;
  readonly load: number[];
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const r3 = (n: number): number => Math.round(n * 1000) / 1000;
const f = (n: number, d = 2): string => n.toFixed(d).padStart(10);

function printRound(label: string, pick: (f: (r: Round) => number) => number): void {
  console.log(label);
  console.log(`${"".padEnd(26)}${["p50", "p99", "ack p50", "ack p99"].map((h) => h.padStart(10)).join("")}`);
  for (const sec of ["seq", "open"] as const) {
    for (const path of ["raw", "broker"] as const) {
      const v = (k: keyof Lat): number => pick((r) => r[sec][path][k]);
      console.log(`${`${sec === "seq" ? "sequential" : `open ${RATE}/s`} ${path}`.padEnd(26)}${[v("p50"), v("p99"), v("ackP50"), v("ackP99")].map((n) => f(n)).join("")}`);
    }
    console.log(`${`${sec === "seq" ? "sequential" : `open ${RATE}/s`} p99 - raw p99`.padEnd(26)}${"".padStart(10)}${f(pick((r) => r[sec].broker.p99 - r[sec].raw.p99))}`);
  }
  console.log(`throughput events/s: raw ${f(pick((r) => r.tp.raw), 0)}, broker ${f(pick((r) => r.tp.broker), 0)}, ratio ${f(pick((r) => r.tp.broker / r.tp.raw))}`);
  console.log(`CPU µs per event (process, all threads): raw ${f(pick((r) => r.tp.rawCpuUs), 0)}, broker ${f(pick((r) => r.tp.brokerCpuUs), 0)}, ratio ${f(pick((r) => r.tp.brokerCpuUs / r.tp.rawCpuUs))}`);
  console.log(`event-loop delay p99 / max ms: sequential ${f(pick((r) => r.loopDelay.seq.p99))} / ${f(pick((r) => r.loopDelay.seq.max))}, open ${f(pick((r) => r.loopDelay.open.p99))} / ${f(pick((r) => r.loopDelay.open.max))}`);
  console.log(`fdatasync alone (4 KiB appends, ${DIR}) ms: p50 ${f(pick((r) => r.fsync.p50))}, p99 ${f(pick((r) => r.fsync.p99))}, max ${f(pick((r) => r.fsync.max))}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  collectPhases();
  const dir = mkdtempSync(path.join(DIR, "flywheel-bench-broker-"));
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
    phaseStats(paths.flatMap((p) => Array.from({ length: 50 }, (_, i) => `${p.name}-warm-${i}`)));
    const rounds: Round[] = [];
    const seqIds: string[] = [];
    const openIds: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const [seq, seqDelay] = await withLoopDelay(() => sequential(r, paths));
      const [open, openDelay] = await withLoopDelay(() => openLoop(r, paths));
      const [tpRaw, tpBroker] = [await throughput(paths[0], r), await throughput(paths[1], r)];
      const tp = { raw: tpRaw.perSecond, broker: tpBroker.perSecond, rawCpuUs: tpRaw.cpuUs, brokerCpuUs: tpBroker.cpuUs };
      await broker.idle();
      seqIds.push(...seq.ids);
      openIds.push(...open.ids);
      rounds.push({ seq, open, tp, loopDelay: { seq: seqDelay, open: openDelay }, fsync: fsyncFloor(dir), load: os.loadavg() });
    }
    console.log(`broker bench (database in ${DIR}; SQLite WAL, one fsync of the WAL per group commit before the 202; one trigger; function behind real HTTP)`);
    console.log(`latency = POST sent (open loop: due) -> function handler invoked; ack = POST answered (broker: 202, durable); throughput: ${CLIENTS} clients`);
    for (const [i, r] of rounds.entries()) printRound(`round ${i + 1} (load average ${r.load.map((l) => l.toFixed(1)).join(" ")})`, (g) => g(r));
    printRound(`median of ${ROUNDS} rounds`, (g) => median(rounds.map(g)));
    const seqSteps = phaseStats(seqIds);
    const openSteps = phaseStats(openIds);
    printSteps(`broker phases, sequential, ${seqIds.length} events over all rounds`, seqSteps);
    printSteps(`broker phases, open loop ${RATE}/s, ${openIds.length} events over all rounds`, openSteps);
    const lat = (l: Lat): Record<string, number> => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, r3(v)]));
    const med = (g: (r: Round) => number): number => r3(median(rounds.map(g)));
    console.log(
      JSON.stringify({
        bench: "broker",
        dir: DIR,
        clients: CLIENTS,
        rate: RATE,
        rounds: rounds.map((r) => ({
          sequential: { raw: lat(r.seq.raw), broker: lat(r.seq.broker) },
          open: { raw: lat(r.open.raw), broker: lat(r.open.broker) },
          throughput: { raw: r3(r.tp.raw), broker: r3(r.tp.broker), rawCpuUs: r3(r.tp.rawCpuUs), brokerCpuUs: r3(r.tp.brokerCpuUs) },
          loopDelay: r.loopDelay,
          fsync: r.fsync,
          load: r.load.map(r3),
        })),
        median: {
          sequential: { rawP50: med((r) => r.seq.raw.p50), rawP99: med((r) => r.seq.raw.p99), brokerP50: med((r) => r.seq.broker.p50), brokerP99: med((r) => r.seq.broker.p99), p99OverRawMs: med((r) => r.seq.broker.p99 - r.seq.raw.p99), brokerAckP99: med((r) => r.seq.broker.ackP99) },
          open: { rawP50: med((r) => r.open.raw.p50), rawP99: med((r) => r.open.raw.p99), brokerP50: med((r) => r.open.broker.p50), brokerP99: med((r) => r.open.broker.p99), p99OverRawMs: med((r) => r.open.broker.p99 - r.open.raw.p99), brokerAckP99: med((r) => r.open.broker.ackP99) },
          throughput: { raw: med((r) => r.tp.raw), broker: med((r) => r.tp.broker), ratio: med((r) => r.tp.broker / r.tp.raw), cpuUsPerEvent: { raw: med((r) => r.tp.rawCpuUs), broker: med((r) => r.tp.brokerCpuUs) } },
          loopDelayP99: { sequential: med((r) => r.loopDelay.seq.p99), open: med((r) => r.loopDelay.open.p99) },
          fsync: { p50: med((r) => r.fsync.p50), p99: med((r) => r.fsync.p99) },
        },
        phases: { sequential: seqSteps, open: openSteps },
        seconds: r3((performance.now() - started) / 1000),
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
