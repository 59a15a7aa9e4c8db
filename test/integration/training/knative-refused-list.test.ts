// Knative mode on real PostgreSQL: trainings the API server refused (an admission webhook's 422) have no object for a
// UI replica's watch to see. Their training.failed events, kept by event-log in PostgreSQL, put them in the Knative
// UI's jobs list (API and page, filters and paging) with their reason, as embedded mode lists them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hono } from "hono";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createLaunchTraining } from "../../../functions/launch-training/deps.ts";
import { launchTraining } from "../../../functions/launch-training/handler.ts";
import { StateEventLog } from "../../../platform/eventing/event-log.ts";
import { buildEvent, type AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { createLogger } from "../../../platform/log.ts";
import { openPostgresState, type StateStore } from "../../../platform/state/index.ts";
import { trainingEventsFromBackend } from "../../../platform/training/events.ts";
import { KubernetesTrainingBackend } from "../../../platform/training/kubernetes/backend.ts";
import { jobIdFor } from "../../../platform/training/updates.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";
import { startPostgres, type TestPostgres } from "../../support/postgres.ts";

const NS = "ml";
const TOKEN = "admin-token-0123456789abcdef";
const log = createLogger("silent");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fw-refused-list-"));
let pgc: TestPostgres | undefined;
let state: StateStore | undefined;
let kube: FakeKube | undefined;
let mlflow: FakeMlflow | undefined;
let launcher: KubernetesTrainingBackend | undefined;
let ui: Hono;

beforeAll(async () => {
  pgc = await startPostgres();
  const dsn = await pgc.createDatabase("refused");
  state = await openPostgresState(dsn);
  // An admission webhook that denies every batch Job: the API server answers 422 and nothing is created.
  kube = await startFakeKube({ namespace: NS, validate: (o) => (o.kind === "Job" ? ["spec.template: admission webhook denied the request"] : []) });
  mlflow = await startFakeMlflow();
  fs.writeFileSync(path.join(tmp, "kubeconfig"), kube.kubeconfigYaml);
  // client-node reads KUBECONFIG from the process environment.
  vi.stubEnv("KUBECONFIG", path.join(tmp, "kubeconfig"));
  vi.stubEnv("KUBERNETES_SERVICE_HOST", "");
  const { knativeUi } = await import("../../../pages/knative.ts");
  ui = await knativeUi({
    FLYWHEEL_DATABASE_URL: dsn,
    MLFLOW_TRACKING_URI: mlflow.url,
    FLYWHEEL_BROKER_URL: "http://127.0.0.1:9/",
    FLYWHEEL_SERVING_BACKEND: "kserve",
    FLYWHEEL_TRAINING_BACKEND: "kubernetes",
    FLYWHEEL_NAMESPACE: NS,
    FLYWHEEL_AUTH_TOKEN: TOKEN,
    FLYWHEEL_SESSION_KEY: "a-session-key-every-ui-replica-shares-0123",
    FLYWHEEL_DATA_DIR: path.join(tmp, "ui"),
    FLYWHEEL_LOG_LEVEL: "silent",
    KUBECONFIG: path.join(tmp, "kubeconfig"),
  });
}, 120_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await launcher?.close();
  await kube?.close();
  await mlflow?.close();
  await state?.close();
  await pgc?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const get = async (route: string): Promise<{ status: number; text: string }> => {
  const res = await ui.request(route, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, text: await res.text() };
};
const ids = async (query: string): Promise<string[]> => {
  const res = await get(`/api/v1/jobs${query}`);
  expect(res.status).toBe(200);
  return (JSON.parse(res.text) as { jobs: { id: string }[] }).jobs.map((j) => j.id);
};

it("lists refused trainings with their reason, next to the watched ones, under filters and paging; logs and cancel answer", async () => {
  if (!state || !kube) throw new Error("not started");
  // launch-training (scaled from zero, no watch): its training events go to the broker, event-log writes PostgreSQL.
  const eventLog = new StateEventLog(state);
  const bus = { emit: async (e: AnyCloudEvent) => void (await eventLog.record(e, Date.now())) };
  launcher = new KubernetesTrainingBackend({ kubeconfig: kube.kubeconfig, namespace: NS, ddpOperator: "pytorchjob", dataDir: path.join(tmp, "launcher"), watch: false, onUpdate: trainingEventsFromBackend({ bus, log }) });
  const deps = createLaunchTraining({ bus, backend: launcher, log, status: launcher });
  const request = async (id: string, spec: { model: string; kind: "single" | "ddp"; replicas?: number }) => {
    const ev = buildEvent("training.requested", { image: "img:1", command: ["python3", "t.py"], ...spec }, { source: "/test", id });
    expect((await launchTraining(ev, deps)).status).toBe("done");
    return jobIdFor(spec.model, id);
  };
  const accepted = await request("req-ok", { model: "iris", kind: "ddp", replicas: 2 });
  const refusedIris = await request("req-bad-iris", { model: "iris", kind: "single" });
  const refusedWine = await request("req-bad-wine", { model: "wine", kind: "single" });
  expect(kube.objects({ apiVersion: "batch/v1", kind: "Job" })).toHaveLength(0);

  // The UI replica's watch sees the accepted one; the refused ones come from the shared log.
  await expect.poll(() => ids(""), { timeout: 20_000 }).toEqual(expect.arrayContaining([accepted, refusedIris, refusedWine]));
  const all = JSON.parse((await get("/api/v1/jobs")).text) as { jobs: { id: string; state: string; reason?: string; model: string; createdAt: number }[] };
  expect(all.jobs).toHaveLength(3);
  for (const id of [refusedIris, refusedWine]) {
    expect(all.jobs.find((j) => j.id === id)).toMatchObject({ state: "failed", reason: "SubmissionFailed", failureReason: "SubmissionFailed", message: expect.stringContaining("admission webhook denied") });
  }
  // Newest first, as the store orders: the refusals came after the accepted launch.
  expect(all.jobs.map((j) => j.createdAt)).toEqual([...all.jobs.map((j) => j.createdAt)].sort((a, b) => b - a));

  expect((await ids("?state=failed")).sort()).toEqual([refusedIris, refusedWine].sort());
  expect(await ids("?model=wine")).toEqual([refusedWine]);
  expect((await ids("?model=iris")).sort()).toEqual([accepted, refusedIris].sort());
  expect(await ids("?state=succeeded")).toEqual([]);
  // Paging walks the merged list: each job once, in the same order.
  const pages = [...(await ids("?limit=2&offset=0")), ...(await ids("?limit=2&offset=2"))];
  expect(pages).toEqual(all.jobs.map((j) => j.id));
  expect(await ids("?limit=2&offset=3")).toEqual([]);

  // The jobs page shows them with the reason; the job's page, its log and a cancel answer as for a finished job.
  const page = await get("/training/jobs");
  expect(page.status).toBe(200);
  expect(page.text).toContain(refusedWine);
  expect(page.text).toContain("SubmissionFailed");
  expect((await get(`/training/jobs?model=wine`)).text).not.toContain(accepted);
  expect((await get(`/training/jobs/${refusedWine}`)).status).toBe(200);
  const logs = await get(`/api/v1/jobs/${refusedWine}/logs`);
  expect(logs).toMatchObject({ status: 200, text: expect.stringContaining("admission webhook denied") });
  const cancel = await ui.request(`/api/v1/jobs/${refusedWine}/cancel`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
  expect(cancel.status).toBe(200);
  expect(await cancel.json()).toMatchObject({ id: refusedWine, state: "failed" });
  expect((await get(`/api/v1/jobs/${jobIdFor("iris", "never-requested")}`)).status).toBe(404);
});
