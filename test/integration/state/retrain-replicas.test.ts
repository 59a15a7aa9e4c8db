// Three retrain-on-drift replicas (real processes, production entry) sharing one real PostgreSQL and nothing else:
// 100 concurrent alerts start one training; cooldown and daily cap hold across replicas and a restart of all of them;
// a replica killed mid-decision leaves nothing half-made.
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEvent, deriveId, eventType, parseEventAs, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { startFunction, type EventSink, type FunctionProcess } from "../../support/function-process.ts";
import { deliver, seedChampion, startReplicaBackdrop, type ReplicaBackdrop } from "../../support/replica-backdrop.ts";
import { IRIS_SPEC } from "../../unit/retrain/fakes.ts";

const POLICIES = `
defaults: {retrain: {maxInFlight: 1, cooldownMinutes: 60, dailyCap: 3}}
models: {wine: {retrain: {cooldownMinutes: 0, dailyCap: 2}}}
`;

let bd: ReplicaBackdrop;
let sink: EventSink;
let dbUrl = "";
let env: Record<string, string> = {};
let replicas: FunctionProcess[] = [];

const startAll = async (n = 3) => {
  replicas = await Promise.all(Array.from({ length: n }, () => startFunction("retrainOnDrift", env)));
};
const stopAll = async (signal: NodeJS.Signals = "SIGTERM") => {
  await Promise.all(replicas.map((r) => r.stop(signal)));
  replicas = [];
};

beforeAll(async () => {
  bd = await startReplicaBackdrop("replicas");
  ({ sink, dbUrl } = bd);
  for (const model of ["iris", "wine"]) await seedChampion(bd.mlflow.url, model, { ...IRIS_SPEC, model, experiment: model });
  const policies = path.join(bd.tmp, "policies.yaml");
  fs.writeFileSync(policies, POLICIES);
  env = { ...bd.env, FLYWHEEL_POLICIES_FILE: policies };
  await startAll();
}, 120_000);

afterAll(async () => {
  await stopAll("SIGKILL");
  await bd?.close();
});

let seq = 0;
function alert(model: string, fingerprint: string, id = deriveId(`${model}-${fingerprint}-${seq++}`, "firing")): AnyCloudEvent {
  return buildEvent(
    "alert.firing",
    { status: "firing", alertname: "ModelDriftDetected", labels: { alertname: "ModelDriftDetected", model }, startsAt: new Date().toISOString(), fingerprint },
    { source: "/flywheel/triggers/alertmanager", id },
  );
}

/**
 * Distinct events by (source, id), as every consumer sees them: a replica that finds a decision recorded but not yet
 * marked emitted re-sends its events (same ids), because the replica that made it may have died before sending.
 */
const distinct = (type: string): AnyCloudEvent[] => {
  const seen = new Map<string, AnyCloudEvent>();
  for (const e of sink.events) if (e.type === eventType(type === "training.requested" ? "training.requested" : "retrain.decided")) seen.set(`${e.source} ${e.id}`, e);
  return [...seen.values()];
};
const requested = (model: string) => distinct("training.requested").filter((e) => e.subject === model);
const decided = (model: string) => distinct("retrain.decided").map((e) => parseEventAs("retrain.decided", e).data).filter((d) => d.model === model);
const lastDecision = (model: string) => decided(model).at(-1);

function finished(req: AnyCloudEvent): AnyCloudEvent {
  const data = parseEventAs("training.requested", req).data;
  const { trigger, ...spec } = data;
  const now = Date.now();
  return buildEvent(
    "training.succeeded",
    { jobId: `job-${req.id.slice(0, 8)}`, model: data.model, kind: "single", backend: "kubernetes", trigger: trigger ?? { reason: "drift" }, spec, artifactUri: "/tmp/a", startedAt: now - 1000, finishedAt: now },
    { source: "/flywheel/training/kubernetes", causedBy: { id: req.id } },
  );
}

async function dbCount(table: "retrain_trainings" | "retrain_decisions", model: string): Promise<number> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>(`select count(*) as n from ${table} where model = $1`, [model]);
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

describe("retrain-on-drift with three replicas on one PostgreSQL", () => {
  it("100 concurrent alerts (50 repeats of one, 50 distinct fingerprints) across the replicas start exactly 1 training", async () => {
    const repeated = alert("iris", "fp-repeat");
    const events = [...Array.from({ length: 50 }, () => repeated), ...Array.from({ length: 50 }, (_, i) => alert("iris", `fp-${i}`))];
    const statuses = await Promise.all(events.map((ev, i) => deliver(replicas[i % 3], ev)));
    expect(statuses.filter((s) => s >= 300)).toEqual([]);
    expect(requested("iris")).toHaveLength(1);
    expect(await dbCount("retrain_trainings", "iris")).toBe(1);
    // One decision per distinct cause (51), each emitted once: 1 started and 50 in-flight skips.
    expect(await dbCount("retrain_decisions", "iris")).toBe(51);
    const byReason = decided("iris").reduce<Record<string, number>>((m, d) => ({ ...m, [d.reason]: (m[d.reason] ?? 0) + 1 }), {});
    expect(byReason).toEqual({ started: 1, "in-flight": 50 });
  });

  it("the cooldown and the daily cap hold on other replicas and after a restart of all of them (scale to zero)", async () => {
    const [training] = requested("iris");
    if (!training) throw new Error("no training");
    expect(await deliver(replicas[1], finished(training))).toBeLessThan(300);
    expect(await deliver(replicas[2], alert("iris", "after-finish"))).toBeLessThan(300);
    expect(lastDecision("iris")).toMatchObject({ decision: "skipped", reason: "cooldown" });
    // wine: no cooldown, a cap of 2 a day; two trainings on two replicas, each finished on a third.
    for (const [i, r] of [replicas[0], replicas[1]].entries()) {
      expect(await deliver(r, alert("wine", `w-${i}`))).toBeLessThan(300);
      const req = requested("wine").at(-1);
      if (!req) throw new Error("no wine training");
      expect(await deliver(replicas[2], finished(req))).toBeLessThan(300);
    }
    expect(requested("wine")).toHaveLength(2);

    await stopAll();
    await startAll();
    expect(await deliver(replicas[0], alert("iris", "after-restart"))).toBeLessThan(300);
    expect(lastDecision("iris")).toMatchObject({ decision: "skipped", reason: "cooldown" });
    expect(await deliver(replicas[1], alert("wine", "w-capped"))).toBeLessThan(300);
    expect(lastDecision("wine")).toMatchObject({ decision: "skipped", reason: "daily-cap" });
    expect(requested("iris")).toHaveLength(1);
    expect(requested("wine")).toHaveLength(2);
  });

  it("a replica killed with SIGKILL inside its decision leaves nothing; the redelivered event decides once", async () => {
    await dbCount("retrain_trainings", "iris"); // warm: the test's own connection
    const model = "lock-test";
    // Hold the model's decision lock from outside so replica 0 is stuck inside its transaction, then kill it.
    const holder = new pg.Client({ connectionString: dbUrl });
    await holder.connect();
    await holder.query("begin");
    await holder.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [`retrain:${model}`]);
    const ev = alert(model, "killed");
    const victim = replicas[0];
    if (!victim) throw new Error("no replica");
    const pending = deliver(victim, ev).catch(() => "connection lost");
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    // Wait until the victim is blocked on the lock (its backend shows up as waiting on an advisory lock).
    for (let i = 0; ; i++) {
      const r = await c.query("select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted");
      if (r.rows[0].n > 0) break;
      if (i > 200) throw new Error("victim never reached the decision lock");
      await new Promise((res) => setTimeout(res, 25));
    }
    await c.end();
    await victim.stop("SIGKILL");
    expect(await pending).toBe("connection lost");
    await holder.query("rollback");
    await holder.end();
    expect(await dbCount("retrain_decisions", model)).toBe(0);

    // Knative redelivers to another replica: exactly one decision, emitted once.
    expect(await deliver(replicas[1], ev)).toBeLessThan(300);
    expect(await deliver(replicas[2], ev)).toBeLessThan(300);
    expect(await dbCount("retrain_decisions", model)).toBe(1);
    expect(decided(model)).toHaveLength(1);
  });
});
