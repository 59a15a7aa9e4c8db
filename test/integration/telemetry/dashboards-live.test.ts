// Dashboards and rules against LIVE expositions, in both modes. Embedded: a running platform after the demo (plus a
// drift alert and a dead letter). Knative: function processes started from the production entry (platform/knative/
// main.ts), infer reaching a stand-in InferenceService (the embedded V2 server) through the fake API server. Every
// series a panel or a rule references (recording rules resolved to their inputs) must have samples in the exposition
// of each mode the panel claims; a mode-specific panel says so in its description.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo, SAMPLE_FLOWER } from "../../../platform/cli/commands/demo.ts";
import { DASHBOARDS } from "../../../platform/telemetry/dashboards/definitions.ts";
import { MODES, panelDescription, type Mode } from "../../../platform/telemetry/dashboards/model.ts";
import { ruleGroups } from "../../../platform/telemetry/rules.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { exposedNames, postEvent, ROOT, standInInferenceService, startFunction, writeKubeconfig, type FunctionProcess } from "../../support/knative-process.ts";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";
import { startPostgres, type TestPostgres } from "../../support/postgres.ts";

const quiet = { line: () => undefined, json: () => undefined, error: () => undefined };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-dash-live-"));
const NS = "flywheel";
let p: TestPlatform | undefined;
let kube: FakeKube | undefined;
// Knative functions keep their shared state (retrain decisions, dead letters) in PostgreSQL, as in a cluster.
let pg: TestPostgres | undefined;
const fns: FunctionProcess[] = [];
const sharedLog = { FLYWHEEL_REQUEST_ID_SECRET: "dashboards-live-request-ids", FLYWHEEL_INFERENCE_LOG_DIR: path.join(dir, "inference-log") };
const exposition: Record<Mode, Set<string>> = { embedded: new Set(), knative: new Set() };

/** Series Prometheus makes itself. */
const BUILTINS = new Set(["ALERTS", "ALERTS_FOR_STATE", "up"]);

/** Metric names in PromQL: identifiers not followed by "(" that are not labels, keywords or durations. */
function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"[^"]*"/g, '""');
  const noMatchers = noStrings.replace(/\{[^}]*\}/g, "{}");
  const noGrouping = noMatchers.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  return [...noGrouping.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1] ?? "")
    .filter((n) => !["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "e"].includes(n))
    .filter((n) => !/^\d/.test(n) && !/^[0-9.]+[smhdwy]$/.test(n) && !/^(s|m|h|d|w|y)$/.test(n));
}

const recorded = new Map(ruleGroups().flatMap((g) => g.rules.flatMap((r) => (r.record ? [[r.record, r.expr] as const] : []))));

/** Exposed metric names an expression needs, recording rules replaced by what they read. */
function inputs(expr: string, seen = new Set<string>()): string[] {
  return metricNames(expr).flatMap((n) => {
    if (BUILTINS.has(n)) return [];
    const rule = recorded.get(n);
    if (rule === undefined) return [n];
    if (seen.has(n)) return [];
    seen.add(n);
    return inputs(rule, seen);
  });
}

beforeAll(async () => {
  // ---- embedded: the demo, then drift traffic, a drift alert (a retrain decision) and a dead letter
  // One request-id key and one inference-log volume for every infer, as the cluster's Secret and artifact volume: the
  // sampled records a Knative infer emits come back through the broker's infer-feedback Trigger, and are joined by any
  // replica's feedback.
  p = await startTestPlatform({ FLYWHEEL_ALERTMANAGER_TOKEN: "am-token", ...sharedLog }, path.join(dir, "data"));
  const demo = await runDemo(p.api, ROOT, quiet, true);
  expect(demo.prediction).toBe("setosa");
  // True labels for served predictions: live accuracy (ModelAccuracyDropped's series) and new labelled data, without
  // which the drift alert below would not retrain (the new-data policy).
  for (let i = 0; i < 3; i++) {
    const served = await p.api.raw("POST", "/infer/iris", JSON.stringify(SAMPLE_FLOWER), { "content-type": "application/json" });
    expect(served.status).toBe(200);
    const requestId = served.headers.get("x-request-id") ?? "";
    const fb = await p.api.raw("POST", "/feedback/iris", JSON.stringify({ requestId, label: "setosa" }), { "content-type": "application/json" });
    expect(fb.status).toBe(202);
  }
  const far = { sepal_length: 99, sepal_width: 3, petal_length: 1.4, petal_width: 0.2 };
  // Enough rows for the in-process monitor's window (100), half of them far outside the baseline: drift.
  const batch = Array.from({ length: 30 }, (_, i) => (i % 2 ? far : SAMPLE_FLOWER));
  for (let i = 0; i < 5; i++) expect((await p.api.raw("POST", "/infer/iris", JSON.stringify(batch), { "content-type": "application/json" })).status).toBe(200);
  // An experiment with a mirror over deployments of the same version: split, mirror and per-candidate series.
  const spec = (s: Record<string, unknown>) => p?.api.raw("POST", "/api/v1/deployments", JSON.stringify(s), { "content-type": "application/json" });
  for (const name of ["iris-b", "iris-c"]) {
    expect((await spec({ kind: "model", name, model: "iris", version: "1" }))?.status).toBeLessThan(300);
    await until(`${name} ready`, async () => ((await p?.api.raw("GET", `/api/v1/deployments/${name}`))?.status === 200 ? true : undefined), 60_000, 200);
  }
  expect((await spec({ kind: "experiment", name: "iris-ab", candidates: [{ name: "iris", weight: 50 }, { name: "iris-b", weight: 50 }], mirror: { name: "iris-c", percent: 100 }, resourceType: "model" }))?.status).toBeLessThan(300);
  await until("iris-ab ready", async () => ((await p?.api.raw("GET", "/api/v1/deployments/iris-ab"))?.status === 200 ? true : undefined), 60_000, 200);
  for (let i = 0; i < 6; i++) expect((await p.api.raw("POST", "/infer/iris-ab", JSON.stringify(SAMPLE_FLOWER), { "content-type": "application/json" })).status).toBe(200);
  // A request the broker ingress refuses (no ce-id): counted as an ingress rejection.
  expect((await fetch(`${p.url}/events`, { method: "POST", headers: { authorization: `Bearer ${p.token}`, "content-type": "application/json", "ce-specversion": "1.0", "ce-type": "x", "ce-source": "/t" }, body: "{}" })).status).toBe(400);
  const alert = {
    version: "4",
    status: "firing",
    receiver: "flywheel",
    groupKey: "g",
    alerts: [{ status: "firing", labels: { alertname: "ModelDriftDetected", model: "iris", version: "1" }, annotations: {}, startsAt: new Date().toISOString(), fingerprint: "f1" }],
  };
  const hook = await fetch(`${p.url}/hooks/alertmanager`, { method: "POST", headers: { authorization: "Bearer am-token", "content-type": "application/json" }, body: JSON.stringify(alert) });
  expect(hook.status).toBeLessThan(300);
  // The ingress refuses data the catalogue refuses; a valid request deploy-model cannot honour (promote with no canary
  // running) is a 400 from the function: the broker dead-letters it at once.
  const bad = await fetch(`${p.url}/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${p.token}`, "content-type": "application/json", "ce-specversion": "1.0", "ce-type": "dev.flywheel.deployment.requested", "ce-source": "/test", "ce-id": "bad-1" },
    body: JSON.stringify({ action: "promote", name: "no-such-deployment" }),
  });
  expect(bad.status).toBeLessThan(300);
  // The retrain trains a new version; its end is counted as a finished retrain.
  await until("retrain finished", async () => ((await (await fetch(`${p?.url}/metrics`)).text()).includes("flywheel_retrain_trainings_finished_total{") ? true : undefined), 240_000, 500);
  await until("dead letter counted", async () => ((await (await fetch(`${p?.url}/metrics`)).text()).includes("flywheel_dead_letters_total{") ? true : undefined), 30_000, 200);
  exposition.embedded = exposedNames(await (await fetch(`${p.url}/metrics`)).text());

  // ---- Knative: one process per function, from the production entry
  kube = await startFakeKube({ namespace: NS });
  standInInferenceService(kube, { name: "iris", namespace: NS, model: "iris", version: "1", url: p.url });
  pg = await startPostgres();
  const env = {
    FLYWHEEL_DATABASE_URL: await pg.createDatabase("dashboards"),
    KUBECONFIG: writeKubeconfig(dir, kube.kubeconfigYaml),
    FLYWHEEL_NAMESPACE: NS,
    FLYWHEEL_SERVING_BACKEND: "kserve",
    FLYWHEEL_TRAINING_BACKEND: "kubernetes",
    FLYWHEEL_BROKER_URL: `${p.url}/events`,
    FLYWHEEL_AUTH_TOKEN: p.token ?? "",
    MLFLOW_TRACKING_URI: p.url,
    MLFLOW_TRACKING_TOKEN: p.token ?? "",
    ...sharedLog,
  };
  const targets = ["infer", "deployModel", "retrainOnDrift", "deadLetter", "launchTraining", "logModel"];
  for (const t of targets) {
    fs.mkdirSync(path.join(dir, t), { recursive: true });
    fns.push(await startFunction(t, { ...env, FLYWHEEL_DATA_DIR: path.join(dir, t), K_SERVICE: t, K_REVISION: `${t}-00001` }));
  }
  const fn = (t: string): string => fns.find((f) => f.target === t)?.url ?? "";
  const requestIds: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${fn("infer")}/iris`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([SAMPLE_FLOWER, { ...SAMPLE_FLOWER, sepal_length: 99 }]) });
    expect(r.status, await r.clone().text()).toBe(200);
    requestIds.push(r.headers.get("x-request-id") ?? "");
  }
  // Feedback to the Knative infer for a request it answered: its sampled record went out as a CloudEvent and came back
  // through the broker's Trigger into the shared log; the join counts into the feedback counters the accuracy rule sums.
  const requestId = requestIds[0] ?? "";
  expect(requestId).not.toBe("");
  const labelled = await until("feedback joined on the Knative infer", async () => {
    const r = await fetch(`${fn("infer")}/feedback/iris`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ requestId, labels: ["setosa", "setosa"] }) });
    const body = (await r.json()) as { matched?: number; duplicates?: number };
    return body.matched === 1 || body.duplicates === 1 ? body : undefined;
  }, 30_000, 250);
  expect(labelled).toBeDefined();
  await postEvent(fn("deployModel"), { type: "dev.knative.sources.ping", source: `/apis/v1/namespaces/${NS}/pingsources/deploy-model-canary-check`, id: "tick-1", data: { check: "canary" } });
  const cause = "alert-knative-1";
  await postEvent(fn("retrainOnDrift"), { type: "dev.flywheel.alert.firing", source: "/flywheel/triggers/alertmanager", id: cause, data: { ...alert.alerts[0], alertname: "ModelDriftDetected", labels: { alertname: "ModelDriftDetected", model: "iris" } } });
  // The end of that training, as launch-training would report it (a real one from the embedded run, re-pointed).
  const succeeded = (await p.api.request<{ events: { data: Record<string, unknown> }[] }>("GET", "/api/v1/events?type=dev.flywheel.training.succeeded&limit=1")).events[0]?.data ?? {};
  const ended = await postEvent(fn("retrainOnDrift"), { type: "dev.flywheel.training.succeeded", source: "/test", id: "ts-1", data: { ...succeeded, model: "iris", trigger: { reason: "drift", eventId: cause } } });
  expect(ended.status).toBeLessThan(300);
  expect((await postEvent(fn("deadLetter"), { type: "dev.flywheel.model.logged", source: "/test", id: "dl-1", data: {}, extensions: { knativeerrordest: "http://log-model", knativeerrorcode: "500" } })).status).toBeLessThan(300);
  await postEvent(fn("launchTraining"), { type: "dev.flywheel.training.requested", source: "/test", id: "lt-1", data: { model: "" } });
  await postEvent(fn("logModel"), { type: "dev.flywheel.training.succeeded", source: "/test", id: "lm-1", data: {} });
  // infer feeds drift after answering: give the counters a moment, then take every process' exposition.
  await until("knative drift bins", async () => ((await (await fetch(`${fn("infer")}/metrics`)).text()).includes("flywheel_drift_bin_observations_total{") ? true : undefined), 30_000, 200);
  for (const f of fns) for (const n of exposedNames(await (await fetch(`${f.url}/metrics`)).text())) exposition.knative.add(n);
}, 600_000);

afterAll(async () => {
  for (const f of fns) await f.stop();
  await kube?.close();
  await pg?.stop();
  await p?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const all = Object.entries(DASHBOARDS).flatMap(([board, spec]) => spec.rows.flatMap((r) => r.panels.map((panel) => ({ where: `${board}: ${panel.title}`, panel }))));
/** Panels that need a configuration the demo does not use (Kafka, adaptive batching) say so and are left out. */
const panels = all.filter(({ panel }) => panel.when === undefined);

describe("dashboards against live expositions", () => {
  it("sees real expositions in both modes (sanity)", () => {
    expect(exposition.embedded.has("flywheel_broker_deliveries_total")).toBe(true);
    expect(exposition.knative.has("flywheel_function_invocations_total")).toBe(true);
    expect(exposition.knative.has("flywheel_broker_deliveries_total")).toBe(false);
  });

  for (const mode of MODES) {
    it(`every series a ${mode} panel references has samples in ${mode} mode (no empty panel)`, () => {
      const missing = panels
        .filter(({ panel }) => (panel.modes ?? MODES).includes(mode))
        .flatMap(({ where, panel }) => panel.targets.flatMap((t) => inputs(t.expr)).filter((n) => !exposition[mode].has(n)).map((n) => `${where}: ${n}`));
      expect([...new Set(missing)]).toEqual([]);
    });
  }

  it("every series a rule reads exists in both modes' expositions, except the broker backlog (embedded only, said in its description)", () => {
    const out: string[] = [];
    for (const g of ruleGroups()) {
      for (const r of g.rules) {
        for (const n of inputs(r.expr)) {
          for (const mode of MODES) {
            if (exposition[mode].has(n)) continue;
            if (mode === "knative" && r.alert === "FlywheelBrokerBacklogGrowing" && r.annotations?.description?.includes("Embedded mode")) continue;
            out.push(`${mode}: ${r.alert ?? r.record}: ${n}`);
          }
        }
      }
    }
    expect([...new Set(out)]).toEqual([]);
  });

  it("the panels left out are few and name their condition", () => {
    const left = all.filter(({ panel }) => panel.when !== undefined);
    expect(left.map((l) => l.where)).toEqual(["inference: Batch size (median)", "training: Kafka training requests"]);
    for (const { panel } of left) expect(panelDescription(panel)).toMatch(/Only when /);
  });

  it("mode-specific panels say so, and a panel claiming both modes is not backed by one mode only", () => {
    for (const { where, panel } of panels) {
      const modes = panel.modes ?? MODES;
      if (modes.length === 1) expect(panelDescription(panel), where).toMatch(/mode only/);
      const names = panel.targets.flatMap((t) => inputs(t.expr));
      for (const mode of modes) expect(names.every((n) => exposition[mode].has(n)), `${where} in ${mode}`).toBe(true);
    }
  });
});
