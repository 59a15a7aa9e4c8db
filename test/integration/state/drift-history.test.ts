// Drift history in the StateStore, on SQLite and a real PostgreSQL: the monitor's scorings are kept within the limits,
// survive a restart (a new store and a new monitor on the same location), and every replica reads the same chart.
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { parseBaseline } from "../../../platform/drift/baseline.ts";
import { StateDriftHistory } from "../../../platform/drift/history.ts";
import { DriftMonitor } from "../../../platform/drift/monitor.ts";
import { parseConfig } from "../../../platform/config/index.ts";
import type { DeploymentStatus } from "../../../platform/ports.ts";
import type { StateStore } from "../../../platform/state/index.ts";
import { driftView } from "../../../pages/adapters.ts";
import { useAdapters, type Adapter } from "./adapters.ts";

const adapterNamed = useAdapters();

const baseline = parseBaseline({ version: 1, features: { x: { type: "numeric", edges: [0, 1, 2, 3, 4], counts: [1, 1, 1, 1] } } });
const served = [{ name: "iris", kind: "model", model: "iris", version: "2", state: "ready" }] as unknown as DeploymentStatus[];

describe.each(["sqlite", "postgresql"])("%s drift history", (name) => {
  const adapter = (): Adapter => adapterNamed(name);
  const opened: StateStore[] = [];
  const open = async (loc: string): Promise<StateStore> => {
    const s = await adapter().open(loc);
    opened.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of opened) await s.close();
  });

  it("keeps one point per interval (a threshold crossing always), at most maxPoints per version, and drops old points", async () => {
    let now = 1_000_000;
    const state = await open(await adapter().fresh());
    const h = new StateDriftHistory(state, { minIntervalMs: 10_000, maxPoints: 3, maxAgeMs: 3_600_000, now: () => now });
    h.record("iris", "1", { at: 1_000_000, scores: { x: 0.01 } });
    h.record("iris", "1", { at: 1_001_000, scores: { x: 0.02 } }); // within 10 s, same side: skipped
    h.record("iris", "1", { at: 1_002_000, scores: { x: 0.5 } }); // crosses 0.2: kept
    h.record("iris", "1", { at: 1_020_000, scores: { x: 0.6 } });
    h.record("iris", "1", { at: 1_040_000, scores: { x: 0.7 } }); // a fourth kept point: the oldest goes
    h.record("other", "1", { at: 1_000_000, scores: { y: 0.1 } });
    await h.flush();
    expect((await h.read("iris", "1")).map((p) => [p.at, p.scores.x])).toEqual([[1_002_000, 0.5], [1_020_000, 0.6], [1_040_000, 0.7]]);
    // Two hours later one write trims every version's points older than an hour.
    now += 2 * 3_600_000;
    h.record("iris", "1", { at: now, scores: { x: 0.1 } });
    await h.flush();
    expect((await h.read("iris", "1")).map((p) => p.at)).toEqual([now]);
    expect(await h.read("other", "1")).toEqual([]);
  });

  it("survives a restart: a new monitor and store on the same location still show the chart and the last scores", async () => {
    const loc = await adapter().fresh();
    let now = 5_000_000;
    const first = await open(loc);
    const history = new StateDriftHistory(first, { minIntervalMs: 0, now: () => now });
    const monitor = new DriftMonitor({ registry: new Registry(), loadBaseline: async () => baseline, minSamples: 8, windowSize: 16, now: () => now, onScore: (m, v, p) => history.record(m, v, p) });
    monitor.observe({ model: "iris", version: "2", features: { x: Array.from({ length: 16 }, (_, i) => (i % 4) + 0.5) }, predictions: [] });
    await monitor.flush();
    now += 60_000;
    monitor.observe({ model: "iris", version: "2", features: { x: Array(16).fill(3.9) }, predictions: [] });
    await monitor.flush();
    monitor.close();
    await history.flush();

    // The restarted process: a fresh monitor (empty windows) and a store opened anew on the same file or database.
    const second = await open(loc);
    const config = parseConfig({ FLYWHEEL_DEV_MODE: "1" });
    const fresh = new DriftMonitor({ registry: new Registry(), loadBaseline: async () => baseline });
    const view = driftView({ drift: fresh, driftHistory: new StateDriftHistory(second), config, serving: { list: async () => served } });
    const [card] = await view.snapshots();
    fresh.close();
    expect(card).toMatchObject({ model: "iris", version: "2", drifted: true, lastScoredAt: now, samples: 0 });
    expect(card?.history?.map((p) => p.at)).toEqual([now - 60_000, now]);
    expect(card?.history?.[0]?.scores.x).toBeCloseTo(0, 9);
    expect(card?.scores.x).toBeGreaterThan(1);
  });

  it("gives every replica the same chart", async () => {
    const loc = await adapter().fresh();
    const a = new StateDriftHistory(await open(loc), { minIntervalMs: 0 });
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) a.record("iris", "3", { at: t0 + i, scores: { x: i / 10 } });
    await a.flush();
    // SQLite is embedded mode's one process; PostgreSQL is shared by UI replicas, each with its own pool.
    const b = name === "postgresql" ? new StateDriftHistory(await open(loc)) : a;
    expect(await b.read("iris", "3")).toEqual(await a.read("iris", "3"));
    expect((await b.read("iris", "3")).length).toBe(5);
  });
});
