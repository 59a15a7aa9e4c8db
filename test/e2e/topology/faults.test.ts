// The Knative topology under storms and faults (issue 14), one topology for the file: 100 Alertmanager alerts over 3
// retrain-on-drift replicas start one training; a replica SIGKILLed mid-delivery, a function scaled to zero with events
// pending, the broker SIGKILLed with a queue, PostgreSQL restarted mid-run: nothing lost, no effect twice, nothing
// dead-lettered for a transient error.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildEvent, toHttpBinary, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { FileInferenceLog } from "../../../platform/inference-log/store.ts";
import { TAG } from "../../../platform/lineage.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { until } from "../../support/platform.ts";
import { openBrowser, reloadUntil } from "../../support/ui-browser.ts";
import { startTopology, type Topology } from "../../support/topology/index.ts";

let t: Topology;
const steps: string[] = [];
// Our own run directory: its logs are kept when a test failed (FLYWHEEL_KEEP_TOPOLOGY=1 keeps them always).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-faults-"));
let failed = false;

beforeAll(async () => {
  t = await startTopology({ dir, replicasOf: { "retrain-on-drift": 3 } });
}, 400_000);

afterEach((c) => {
  if (c.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  if (t) process.stdout.write(`${t.report()}\n${steps.join("\n")}\n`);
  await t?.stop();
  if (failed || process.env.FLYWHEEL_KEEP_TOPOLOGY) process.stdout.write(`topology logs kept in ${dir}/logs\n`);
  else fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Time one test's body; printed with t.report() at the end. */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    steps.push(`  test ${name}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }
}

interface Delivery {
  trigger: string;
  state: string;
  attempts: number;
  lastStatus?: number;
}
interface BrokerEvent {
  id: string;
  type: string;
  deliveries: Delivery[];
}

async function brokerEvents(type: string): Promise<BrokerEvent[]> {
  const r = await fetch(`${t.urls.broker}/debug/events?type=${encodeURIComponent(type)}&limit=1000`);
  return ((await r.json()) as { events: BrokerEvent[] }).events;
}

/** Every delivery of these events finished (delivered, or dead-lettered: the caller asserts which). */
async function settled(type: string, ids: readonly string[]): Promise<BrokerEvent[]> {
  return until(
    `${ids.length} ${type} deliveries finished`,
    async () => {
      const evs = (await brokerEvents(type)).filter((e) => ids.includes(e.id));
      const done = evs.length >= ids.length && evs.every((e) => e.deliveries.every((d) => d.state !== "pending" && d.state !== "inflight"));
      return done ? evs : undefined;
    },
    90_000,
    200,
  );
}

async function emit(ce: AnyCloudEvent): Promise<void> {
  const { headers, body } = toHttpBinary(ce);
  const r = await fetch(t.urls.brokerIngress, { method: "POST", headers, body });
  await r.arrayBuffer();
  expect(r.status).toBe(202);
}

const SPEC = { kind: "single" as const, experiment: "faults", image: "ghcr.io/example/faults:1", command: ["false"], params: {}, timeoutSeconds: 600 };

function trainingRequest(model: string): AnyCloudEvent {
  return buildEvent("training.requested", { ...SPEC, model, trigger: { reason: "manual" } }, { source: "/topology/faults", id: randomUUID() });
}

const jobsOf = (model: string) => t.kube.objects({ apiVersion: "batch/v1", kind: "Job", labelSelector: `flywheel.dev/model=${model}` });
/** Jobs the API server created (201) since `mark()`: a second create of one Job would be a duplicated effect (409 is not). */
const createdJobs = () => t.kube.requests.filter((r) => r.verb === "create" && r.resource === "jobs" && r.status === 201).length;
let mark = 0;
const markCreates = () => (mark = createdJobs());
const jobCreates = () => createdJobs() - mark;

async function deadLetters(): Promise<{ id: string; eventId?: string; event?: { id?: string } }[]> {
  const r = await fetch(`${t.urls.ui}/api/v1/dead-letters?limit=1000`, { headers: { authorization: `Bearer ${t.secrets.adminToken}` } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { deadLetters: { id: string }[] }).deadLetters;
}

async function sql<T extends pg.QueryResultRow>(q: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: t.secrets.databaseUrl });
  await c.connect();
  try {
    return (await c.query<T>(q, params)).rows;
  } finally {
    await c.end();
  }
}

/** A champion with lineage in the registry process, as log-model leaves it (what retrain-on-drift retrains from). */
function kubeletOf(): NonNullable<Topology["kubelet"]> {
  if (!t.kubelet) throw new Error("the topology runs without its process kubelet");
  return t.kubelet;
}

async function seedChampion(model: string): Promise<void> {
  const client = new MlflowClient({ trackingUri: t.urls.registry });
  await client.createRegisteredModel(model);
  const exp = await client.getOrCreateExperiment(model);
  const run = await client.createRun({ experimentId: exp.experiment_id });
  const v = await client.createModelVersion({ name: model, source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id });
  await client.setModelVersionTag(model, v.version, TAG.trainingSpec, JSON.stringify({ ...SPEC, model, experiment: model }));
  await client.setAlias(model, "champion", v.version);
}

/** One Alertmanager v4 notification for one alert, as the rendered receiver sends it (bearer credentials_file). */
async function notify(model: string, fingerprint: string, startsAt: string): Promise<number> {
  const alert = { status: "firing", labels: { alertname: "ModelDriftDetected", model }, annotations: {}, startsAt, endsAt: "0001-01-01T00:00:00Z", generatorURL: "", fingerprint };
  const body = { version: "4", groupKey: `{}:{alertname="ModelDriftDetected"}`, truncatedAlerts: 0, status: "firing", receiver: "flywheel", groupLabels: {}, commonLabels: alert.labels, commonAnnotations: {}, externalURL: t.urls.alertmanager, alerts: [alert] };
  // Alertmanager retries a 5xx (the trigger answers 503 when the broker did not take the event) with backoff.
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(t.urls.functions["alertmanager-trigger"] ?? "", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.secrets.alertmanagerToken}` },
      body: JSON.stringify(body),
    });
    await r.arrayBuffer();
    if (r.status < 500 || attempt >= 5) return r.status;
    retried503 += 1;
    await new Promise((res) => setTimeout(res, 500 * 2 ** attempt));
  }
}
let retried503 = 0;

describe("storm", () => {
  it("100 Alertmanager alerts (50 repeats, 50 distinct) over 3 retrain-on-drift replicas start exactly 1 training", async () =>
    step("storm", async () => {
      // The new-data policy (issue 15) is on by default, but retrain-on-drift in Knative mode has no inference log to
      // count labels in (no labelledSince): the policy does not apply there, so no feedback is sent first.
      await seedChampion("storm");
      // Issue 15's new-data policy (on by default, and active in Knative since retrain-on-drift reads the shared
      // inference log): labelled feedback since the champion is what lets a retrain run. It is written where infer's
      // replicas write it, the flywheel-inference-log volume, as an earlier feedback request would have left it.
      const now = Date.now();
      new FileInferenceLog(kubeletOf().pvcDir("flywheel-inference-log")).addLabelled(
        Array.from({ length: 5 }, (_, i) => ({ requestId: `storm-${i}`, row: 0, time: now, labelledAt: now + 1000, deployment: "storm", model: "storm", version: "1", features: { x: i }, label: "a", predicted: "b" })),
      );
      markCreates();
      const retrain = t.fn("retrain-on-drift");
      const servedBefore = retrain.replicas.map((r) => retrain.served.get(r.index) ?? 0);
      const startsAt = new Date().toISOString();
      const statuses = await Promise.all([
        ...Array.from({ length: 50 }, () => notify("storm", "fp-repeat", startsAt)),
        ...Array.from({ length: 50 }, (_, i) => notify("storm", `fp-${i}`, startsAt)),
      ]);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      if (retried503) steps.push(`  storm: ${retried503} webhook notification(s) answered 503 and were retried as Alertmanager does`);
      // 51 distinct causes: one decision each, recorded by whichever replica got it.
      await until("51 decisions", async () => ((await sql<{ n: string }>("select count(*) as n from retrain_decisions where model = $1", ["storm"]))[0]?.n === "51" ? true : undefined), 60_000, 250);
      const firing = (await brokerEvents("dev.flywheel.alert.firing")).filter((e) => e.deliveries.some((d) => d.trigger === "retrain-on-alert"));
      await settled("dev.flywheel.alert.firing", firing.map((e) => e.id));
      const requested = await until("the training requested", async () => {
        const evs = (await brokerEvents("dev.flywheel.training.requested")).filter((e) => JSON.stringify(e).includes('"storm"'));
        return evs.length > 0 ? evs : undefined;
      }, 30_000, 200);
      await settled("dev.flywheel.training.requested", requested.map((e) => e.id));
      expect(new Set(requested.map((e) => e.id)).size).toBe(1);
      expect(jobsOf("storm")).toHaveLength(1);
      expect(jobCreates()).toBe(1);
      const reasons = await sql<{ reason: string; n: string }>("select reason, count(*) as n from retrain_decisions where model = $1 group by reason order by reason", ["storm"]);
      expect(Object.fromEntries(reasons.map((r) => [r.reason, Number(r.n)]))).toEqual({ "in-flight": 50, started: 1 });
      expect(await sql("select 1 from retrain_trainings where model = $1", ["storm"])).toHaveLength(1);
      // The alerts really were spread: every replica decided some.
      expect(retrain.replicas.map((r, i) => (retrain.served.get(r.index) ?? 0) - (servedBefore[i] ?? 0)).every((n) => n > 0)).toBe(true);
    }), 120_000);
});

describe("faults", () => {
  it("a launch-training replica SIGKILLed mid-delivery: every request becomes exactly one Job", async () =>
    step("replica SIGKILL", async () => {
      const fn = t.fn("launch-training");
      const victim = fn.replicas[1];
      if (!victim) throw new Error("no replica 1");
      markCreates();
      // Frozen first, so requests are in flight to it (accepted by its socket, never answered) when it dies.
      victim.child.kill("SIGSTOP");
      const before = fn.served.get(1) ?? 0;
      const events = Array.from({ length: 20 }, () => trainingRequest("kill"));
      await Promise.all(events.map(emit));
      await until("requests in flight to the frozen replica", async () => ((fn.served.get(1) ?? 0) > before ? true : undefined), 30_000, 20);
      await t.kill("launch-training", 1, "SIGKILL");
      const evs = await settled("dev.flywheel.training.requested", events.map((e) => e.id));
      const deliveries = evs.flatMap((e) => e.deliveries.filter((d) => d.trigger === "launch-training"));
      expect(deliveries.map((d) => d.state)).toEqual(events.map(() => "delivered"));
      // Some delivery was retried: the kill really did cut requests off.
      expect(deliveries.some((d) => d.attempts > 1)).toBe(true);
      expect(jobsOf("kill")).toHaveLength(20);
      expect(jobCreates()).toBe(20);
      await t.restartReplica("launch-training", 1);
    }), 120_000);

  it("launch-training scaled to zero with events pending: all delivered after the measured cold start", async () =>
    step("scale to zero", async () => {
      const fn = t.fn("launch-training");
      // Every replica drains on SIGTERM and exits; a generous hang limit, naming what is still running.
      const pids = fn.replicas.map((r) => r.child.pid);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        t.scaleToZero("launch-training"),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`replicas ${pids.join(", ")} still running 30 s after SIGTERM: ${fn.replicas.map((r) => r.child.pid).join(", ")}`)), 30_000))),
      ]).finally(() => clearTimeout(timer));
      expect(fn.replicas).toHaveLength(0);
      markCreates();
      const coldBefore = fn.coldStarts.length;
      const events = Array.from({ length: 10 }, () => trainingRequest("cold"));
      await Promise.all(events.map(emit));
      const evs = await settled("dev.flywheel.training.requested", events.map((e) => e.id));
      expect(evs.flatMap((e) => e.deliveries.filter((d) => d.trigger === "launch-training").map((d) => d.state))).toEqual(events.map(() => "delivered"));
      expect(jobsOf("cold")).toHaveLength(10);
      expect(jobCreates()).toBe(10);
      expect(fn.coldStarts.length).toBe(coldBefore + 1);
      expect(fn.coldStarts.at(-1)?.ms).toBeGreaterThan(0);
      expect(fn.replicas).toHaveLength(2);
    }), 120_000);

  it("the broker SIGKILLed with a queue: every accepted event is delivered after its restart, each effect once", async () =>
    step("broker SIGKILL", async () => {
      // launch-training down (every replica killed: the front answers 503), so deliveries wait in the broker's backoff.
      await t.kill("launch-training", 0, "SIGKILL");
      await t.kill("launch-training", 1, "SIGKILL");
      markCreates();
      const events = Array.from({ length: 10 }, () => trainingRequest("queued"));
      await Promise.all(events.map(emit));
      await until("every delivery tried once", async () => {
        const evs = (await brokerEvents("dev.flywheel.training.requested")).filter((e) => events.some((x) => x.id === e.id));
        return evs.length === 10 && evs.every((e) => e.deliveries.some((d) => d.trigger === "launch-training" && d.attempts >= 1)) ? true : undefined;
      }, 30_000, 50);
      await t.broker.kill("SIGKILL");
      await t.broker.start();
      await t.restartReplica("launch-training", 0);
      await t.restartReplica("launch-training", 1);
      const evs = await settled("dev.flywheel.training.requested", events.map((e) => e.id));
      expect(evs.flatMap((e) => e.deliveries.filter((d) => d.trigger === "launch-training").map((d) => d.state))).toEqual(events.map(() => "delivered"));
      expect(jobsOf("queued")).toHaveLength(10);
      expect(jobCreates()).toBe(10);
    }), 120_000);

  it("PostgreSQL restarted mid-run: the functions retry and recover, nothing is dead-lettered", async () =>
    step("postgres restart", async () => {
      // retrain-on-drift records a decision per alert and event-log every event, both in PostgreSQL.
      const alerts = Array.from({ length: 10 }, (_, i) =>
        buildEvent(
          "alert.resolved",
          { status: "resolved", alertname: "ModelDriftDetected", labels: { alertname: "ModelDriftDetected", model: "pgrestart" }, startsAt: new Date().toISOString(), endsAt: new Date().toISOString(), fingerprint: `pg-${i}` },
          { source: "/flywheel/triggers/alertmanager", id: randomUUID() },
        ),
      );
      const restart = t.restartPostgres(3000);
      // Half before the stop lands, half while it is down.
      await Promise.all(alerts.slice(0, 5).map(emit));
      await new Promise((r) => setTimeout(r, 1000));
      await Promise.all(alerts.slice(5).map(emit));
      const { downMs } = await restart;
      // Stop, 3 s down, start: on 2 loaded cores the whole restart can take longer than the 3 s; a hang limit only.
      expect(downMs).toBeLessThan(60_000);
      steps.push(`  postgres restart: ${(downMs / 1000).toFixed(2)} s from stop to ready`);
      const evs = await settled("dev.flywheel.alert.resolved", alerts.map((e) => e.id));
      const states = evs.flatMap((e) => e.deliveries.map((d) => `${d.trigger}:${d.state}`)).sort();
      expect(states).toEqual(alerts.flatMap(() => ["event-log:delivered", "retrain-on-alert:delivered"]).sort());
      // Transient failures really happened (retried), and none was dead-lettered.
      expect(evs.some((e) => e.deliveries.some((d) => d.attempts > 1))).toBe(true);
      const rows = await sql<{ n: string }>("select count(*) as n from retrain_decisions where model = $1", ["pgrestart"]);
      expect(rows[0]?.n).toBe("10");
      const ids = new Set(alerts.map((a) => a.id));
      expect((await deadLetters()).filter((d) => JSON.stringify(d).split('"').some((s) => ids.has(s)))).toEqual([]);
    }), 120_000);
});

describe("a failing training pod", () => {
  it("ends the job failed with its reason: in the Job, the training.failed event, the UI's jobs and activity pages", async () =>
    step("failed training", async () => {
      if (!t.kubelet) throw new Error("the topology runs without its kubelet");
      const ev = buildEvent(
        "training.requested",
        { ...SPEC, model: "broken", command: ["node", "-e", "console.error('faults: the training data is missing'); process.exit(3)"], trigger: { reason: "manual" } },
        { source: "/topology/faults", id: randomUUID() },
      );
      await emit(ev);
      const [job] = await until("the Job", async () => (jobsOf("broken").length ? jobsOf("broken") : undefined), 30_000, 200);
      const name = String(Object(job?.metadata).name ?? "");
      // The kubelet ran the pod; the Job controller marked the Job Failed (backoffLimit 0).
      const jobFailed = (): boolean => {
        const status: unknown = t.kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: "flywheel", name })?.status;
        const conds: unknown = Object(status).conditions;
        return Array.isArray(conds) && conds.some((c) => Object(c).type === "Failed" && Object(c).status === "True");
      };
      await until("Job Failed", async () => (jobFailed() ? true : undefined), 60_000, 250).catch((e: unknown) => {
        const pods = t.kube.objects({ apiVersion: "v1", kind: "Pod" }).map((p) => `${String(Object(p.metadata).name)} ${JSON.stringify(p.status)}`);
        throw new Error(`${String(e)}; pods: ${pods.join("; ") || "none"}; kubelet errors: ${t.kubelet?.errors.slice(-5).join(" | ") ?? ""}`);
      });
      const admin = { authorization: `Bearer ${t.secrets.adminToken}` };
      // The ApiServerSource's update went through the broker to launch-training, which emitted training.failed.
      const failed = await until("training.failed in the event log", async () => {
        const r = await fetch(`${t.urls.ui}/api/v1/events?type=dev.flywheel.training.failed&limit=100`, { headers: admin });
        if (r.status !== 200) return undefined;
        const evs = ((await r.json()) as { events: { id: string; data?: Record<string, unknown> }[] }).events;
        return evs.find((e) => e.data?.jobId === name);
      }, 60_000, 250);
      expect(failed.data?.reason).toBeTruthy();
      expect(String(failed.data?.logTail ?? "")).toContain("faults: the training data is missing");
      const reason = String(failed.data?.reason);
      // Once, though the Job's status changed more than once.
      const all = (await brokerEvents("dev.flywheel.training.failed")).filter((e) => JSON.stringify(e).includes(name));
      expect(new Set(all.map((e) => e.id)).size).toBe(1);
      // The UI replicas fill their job lists from their own watch of the cluster, not from the event log: under load a
      // replica can be behind the training.failed event (which came the other way, through the ApiServerSource, the
      // broker and launch-training), so wait for the watch, with a hang limit. Each request may reach either replica.
      const page = (p: string): Promise<string> => fetch(`${t.urls.ui}${p}`, { headers: admin }).then((r) => r.text());
      // The newest job: on the unfiltered list's first page.
      await until("the failed job on the UI's jobs page", async () => ((await page("/training/jobs")).includes(name) ? true : undefined), 30_000, 250);
      await until("the UI's job page says failed, with the reason", async () => {
        const jobPage = await page(`/training/jobs/${encodeURIComponent(name)}`);
        return jobPage.includes("failed") && jobPage.includes(reason) ? true : undefined;
      }, 30_000, 250);
      const activity = await (await fetch(`${t.urls.ui}/activity?type=training.failed`, { headers: admin })).text();
      expect(activity).toContain(name);
    }), 120_000);
});

describe("the UI in Knative mode, in Chromium", () => {
  it("shows the topology's real jobs, registry, deployments and activity", async () =>
    step("ui in chromium", async () => {
      // A deployment request, so the deployments page has the cluster's answer to show (whatever deploy-model made of it).
      await emit(buildEvent("deployment.requested", { action: "deploy", spec: { kind: "model", name: "storm", model: "storm", version: "1" } }, { source: "/topology/faults", id: randomUUID() }));
      const b = await openBrowser({ javaScript: true });
      try {
        await b.context.setExtraHTTPHeaders({ authorization: `Bearer ${t.secrets.adminToken}` });
        const { page } = b;
        const stormJob = jobsOf("storm")[0];
        const jobName = String(Object(stormJob?.metadata).name ?? "");
        expect(jobName).not.toBe("");
        // Jobs: the Job objects in the API server, read by the UI function through client-node.
        await page.goto(`${t.urls.ui}/training/jobs?model=storm`);
        await expect.poll(() => page.locator("body").innerText()).toContain(jobName);
        // Registry: the registry process's model with its champion alias.
        await page.goto(`${t.urls.ui}/models`);
        const models = await page.locator("body").innerText();
        expect(models).toContain("storm");
        expect(models).toContain("champion → v1");
        // Deployments: the kserve backend (not the local one), with the requested deployment's row.
        await page.goto(`${t.urls.ui}/deployments`);
        expect(await page.locator("h1").innerText()).toContain("kserve");
        await reloadUntil(page, "the storm deployment row", async () => (await page.locator('tr[data-deployment="storm"]').count()) > 0, 60_000);
        // Activity: the latest retrain decisions (the PostgreSQL-restart test's), from the event log in PostgreSQL.
        await page.goto(`${t.urls.ui}/activity`);
        const decisions = await page.locator("#retrain-decisions").innerText();
        expect(decisions).toMatch(/pgrestart: .*skipped — resolved/);
        await b.shot("topology-activity");
      } finally {
        await b.close();
      }
    }), 120_000);
});
