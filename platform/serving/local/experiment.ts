// Experiment router: weighted choice among candidates, sticky by route header, mirror as fire-and-forget shadow traffic.
// It also keeps per-candidate request/error/latency counts, which the canary rollout compares.
import { isKnownError } from "../../errors.ts";
import type { ExperimentDeployment } from "../../specs/deployment.ts";
import type { InferRequest, ModelMetadata } from "../v2/types.ts";
import type { ServingMetrics } from "./metrics.ts";
import { markRoute, ROUTE_HEADER, SELDON_ROUTE_HEADER, type Composite, type InferOutcome } from "./server.ts";

export interface CandidateStats {
  readonly requests: number;
  /** Server-side failures (5xx); a caller's bad input (4xx) says nothing about the candidate. */
  readonly errors: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** When the source has it; canary decisions judge latency on it once both sides have 500 requests. */
  readonly p99Ms?: number | undefined;
}

export interface ExperimentDeps {
  readonly call: (target: string, req: InferRequest, headers: Readonly<Record<string, string>>) => Promise<InferOutcome>;
  readonly metadata: (target: string) => ModelMetadata | undefined;
  readonly ready: (target: string) => boolean;
  readonly metrics: ServingMetrics;
  /** [0, 1); injectable for tests. */
  readonly random?: () => number;
  readonly now?: () => number;
}

const LATENCY_WINDOW = 2048;

class Tally {
  requests = 0;
  errors = 0;
  readonly latencies: number[] = [];
  record(ms: number, failed: boolean): void {
    this.requests++;
    if (failed) this.errors++;
    this.latencies.push(ms);
    if (this.latencies.length > LATENCY_WINDOW) this.latencies.shift();
  }
  stats(): CandidateStats {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    return { requests: this.requests, errors: this.errors, p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99) };
  }
}

/** The candidate named by a sticky route header: ours (`name`) or Seldon's (`:name:` segments). */
export function stickyCandidate(headers: Readonly<Record<string, string>>, candidates: readonly string[]): string | undefined {
  const ours = headers[ROUTE_HEADER]?.trim();
  if (ours && candidates.includes(ours)) return ours;
  const seldon = headers[SELDON_ROUTE_HEADER];
  return seldon?.split(":").map((s) => s.trim()).find((s) => candidates.includes(s));
}

export class ExperimentRouter implements Composite {
  readonly kind = "experiment";
  readonly #spec: ExperimentDeployment;
  readonly #deps: ExperimentDeps;
  readonly #tallies = new Map<string, Tally>();
  readonly #mirrorsInFlight = new Set<Promise<unknown>>();

  constructor(spec: ExperimentDeployment, deps: ExperimentDeps) {
    this.#spec = spec;
    this.#deps = deps;
  }

  get spec(): ExperimentDeployment {
    return this.#spec;
  }

  ready(): boolean {
    return this.#spec.candidates.every((c) => c.weight === 0 || this.#deps.ready(c.name));
  }

  metadata(): ModelMetadata {
    const base = this.#spec.default ?? this.#spec.candidates[0]?.name ?? "";
    const m = this.#deps.metadata(base);
    const meta: ModelMetadata = { name: this.#spec.name, versions: [], platform: "flywheel_experiment", inputs: m?.inputs ?? [], outputs: m?.outputs ?? [] };
    if (m?.parameters) meta.parameters = { ...m.parameters };
    return meta;
  }

  /** Weighted choice: share = weight / sum of weights. */
  choose(rand: number): string {
    const total = this.#spec.candidates.reduce((s, c) => s + c.weight, 0);
    let x = rand * total;
    for (const c of this.#spec.candidates) {
      if (x < c.weight) return c.name;
      x -= c.weight;
    }
    return this.#spec.candidates.at(-1)?.name ?? "";
  }

  async infer(req: InferRequest, headers: Readonly<Record<string, string>>): Promise<InferOutcome> {
    const random = this.#deps.random ?? Math.random;
    const now = this.#deps.now ?? performance.now.bind(performance);
    const names = this.#spec.candidates.map((c) => c.name);
    const candidate = stickyCandidate(headers, names) ?? this.choose(random());
    this.#deps.metrics.routed.inc({ deployment: this.#spec.name, candidate });
    const mirror = this.#spec.mirror;
    if (mirror && random() * 100 < mirror.percent) this.#shadow(mirror.name, req, headers);
    const started = now();
    const tally = this.#tally(candidate);
    try {
      const out = await this.#deps.call(candidate, req, headers);
      tally.record(now() - started, false);
      return { response: out.response, headers: { ...out.headers, [ROUTE_HEADER]: candidate, [SELDON_ROUTE_HEADER]: `:${candidate}:` } };
    } catch (e) {
      tally.record(now() - started, !(isKnownError(e) && e.status < 500));
      markRoute(e, candidate);
      throw e;
    }
  }

  /** Fire and forget: never awaited by the caller, never rethrown. */
  #shadow(target: string, req: InferRequest, headers: Readonly<Record<string, string>>): void {
    const labels = { deployment: this.#spec.name, mirror: target };
    const p = Promise.resolve()
      .then(() => this.#deps.call(target, req, headers))
      .then(
        () => this.#deps.metrics.mirrored.inc({ ...labels, outcome: "ok" }),
        () => this.#deps.metrics.mirrored.inc({ ...labels, outcome: "error" }),
      )
      .finally(() => this.#mirrorsInFlight.delete(p));
    this.#mirrorsInFlight.add(p);
  }

  /** Resolves when every shadow request sent so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#mirrorsInFlight.size) await Promise.all([...this.#mirrorsInFlight]);
  }

  stats(): Record<string, CandidateStats> {
    return Object.fromEntries(this.#spec.candidates.map((c) => [c.name, this.#tally(c.name).stats()]));
  }

  #tally(name: string): Tally {
    let t = this.#tallies.get(name);
    if (!t) {
      t = new Tally();
      this.#tallies.set(name, t);
    }
    return t;
  }
}
