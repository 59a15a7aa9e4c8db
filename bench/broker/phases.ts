// Per-event phase timings of the broker path (from the broker's diagnostics_channel marks), the event-loop delay, and
// the disk's own fdatasync floor: what says where the broker's tail comes from.
import diagnostics_channel from "node:diagnostics_channel";
import fs from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { PHASE_CHANNEL, type Phase, type PhaseMark } from "../../platform/local/broker/trace.ts";

/** Marks of one event: the broker's phases plus the bench's own (sent by the client, handler invoked, POST answered). */
type Marks = Partial<Record<Phase | "client" | "handler" | "ack", number>>;

const marks = new Map<string, Marks>();
const batches = new Map<string, number>();

function isMark(m: unknown): m is PhaseMark {
  return typeof m === "object" && m !== null && "phase" in m && "id" in m && "t" in m;
}

/** Start collecting the broker's phase marks (a subscriber makes the broker publish them). */
export function collectPhases(): void {
  diagnostics_channel.subscribe(PHASE_CHANNEL, (m) => {
    if (!isMark(m)) return;
    const e = marks.get(m.id) ?? {};
    // The first of each phase: a redelivery's marks would otherwise overwrite the first attempt's.
    if (e[m.phase] === undefined) e[m.phase] = m.t;
    if (m.phase === "committed" && m.batch !== undefined) batches.set(m.id, m.batch);
    marks.set(m.id, e);
  });
}

export function benchMark(id: string, phase: "client" | "handler" | "ack", t: number): void {
  const e = marks.get(id) ?? {};
  e[phase] = t;
  marks.set(id, e);
}

/** The steps of one event, in order along the path; each is the time between two marks. */
const STEPS: readonly { name: string; from: keyof Marks; to: keyof Marks }[] = [
  { name: "client -> ingress handler", from: "client", to: "received" },
  { name: "parse + validate", from: "received", to: "parsed" },
  { name: "accept (match, serialise)", from: "parsed", to: "enqueued" },
  { name: "group-commit wait + write", from: "enqueued", to: "committed" },
  { name: "WAL fsync (thread pool)", from: "committed", to: "durable" },
  { name: "durable -> 202 handed over", from: "durable", to: "answered" },
  { name: "202 -> client has it", from: "answered", to: "ack" },
  { name: "commit -> attempt starts", from: "committed", to: "sending" },
  { name: "attempt -> subscriber handler", from: "sending", to: "handler" },
  { name: "handler -> response read", from: "handler", to: "sent" },
  { name: "response -> outcome committed", from: "sent", to: "recorded" },
  { name: "END TO END: client -> handler", from: "client", to: "handler" },
  { name: "END TO END: client -> 202", from: "client", to: "ack" },
];

export interface StepStats {
  readonly step: string;
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Means add up along the path (medians do not): where the time goes on average. */
  readonly mean: number;
  /** Mean of this step over the slowest 1% of events (by client -> handler): where their time went. */
  readonly tailMean: number;
}

const q = (xs: readonly number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;

/** Step statistics over the given events (ids of broker events), then forgets them. */
export function phaseStats(ids: readonly string[]): { steps: StepStats[]; batchP50: number; batchMax: number } {
  const evs = ids.map((id) => marks.get(id)).filter((e): e is Marks => e !== undefined);
  const span = (e: Marks, from: keyof Marks, to: keyof Marks): number | undefined => {
    const a = e[from];
    const b = e[to];
    return a === undefined || b === undefined ? undefined : b - a;
  };
  const byLatency = [...evs].sort((a, b) => (span(a, "client", "handler") ?? 0) - (span(b, "client", "handler") ?? 0));
  const tail = byLatency.slice(Math.floor(byLatency.length * 0.99));
  const steps = STEPS.map(({ name, from, to }) => {
    const xs = evs.map((e) => span(e, from, to)).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    const ts = tail.map((e) => span(e, from, to)).filter((x): x is number => x !== undefined);
    const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
    return { step: name, n: xs.length, p50: q(xs, 0.5), p99: q(xs, 0.99), max: xs.at(-1) ?? Number.NaN, mean, tailMean: ts.reduce((s, x) => s + x, 0) / ts.length };
  });
  // BENCH_TRACE_FILE: every event's marks (ms after its client mark) as JSON lines, to read one slow event whole.
  const traceFile = process.env.BENCH_TRACE_FILE;
  if (traceFile) {
    const lines = ids.map((id) => {
      const e = marks.get(id) ?? {};
      const t0 = e.client ?? 0;
      return JSON.stringify({ id, ...Object.fromEntries(Object.entries(e).map(([k, v]) => [k, Math.round((v - t0) * 100) / 100])) });
    });
    fs.appendFileSync(traceFile, lines.join("\n") + "\n");
  }
  const bs = ids.map((id) => batches.get(id)).filter((b): b is number => b !== undefined).sort((a, b) => a - b);
  for (const id of ids) {
    marks.delete(id);
    batches.delete(id);
  }
  return { steps, batchP50: q(bs, 0.5), batchMax: bs.at(-1) ?? Number.NaN };
}

export function printSteps(title: string, s: ReturnType<typeof phaseStats>): void {
  const f = (n: number): string => n.toFixed(2).padStart(10);
  console.log(`${title} (group commit size p50 ${s.batchP50}, max ${s.batchMax})`);
  console.log(`${"step (ms)".padEnd(34)}${["p50", "p99", "max", "mean", "slowest 1%"].map((h) => h.padStart(10)).join("")}`);
  for (const r of s.steps) console.log(`${r.step.padEnd(34)}${f(r.p50)}${f(r.p99)}${f(r.max)}${f(r.mean)}${f(r.tailMean)}`);
}

/** The event loop's delay while `fn` runs (1 ms resolution): p99 and max in ms. */
export async function withLoopDelay<T>(fn: () => Promise<T>): Promise<[T, { p99: number; max: number }]> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const out = await fn();
    return [out, { p99: h.percentile(99) / 1e6, max: h.max / 1e6 }];
  } finally {
    h.disable();
  }
}

/** The disk's floor: `n` appends of 4 KiB to a file in `dir`, each followed by fdatasync (what one group commit costs). */
export function fsyncFloor(dir: string, n = 100): { p50: number; p99: number; max: number } {
  const file = path.join(dir, `fsync-floor-${process.pid}`);
  const fd = fs.openSync(file, "w");
  const buf = Buffer.alloc(4096, 7);
  const xs: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      fs.writeSync(fd, buf);
      const t = performance.now();
      fs.fdatasyncSync(fd);
      xs.push(performance.now() - t);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  xs.sort((a, b) => a - b);
  return { p50: q(xs, 0.5), p99: q(xs, 0.99), max: xs.at(-1) ?? Number.NaN };
}
