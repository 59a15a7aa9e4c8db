// Knative mode: a training refused at launch has no object, so no watch ever sees it. Its training.failed event,
// kept by the event-log function in the shared StateStore, is what GET /api/v1/jobs/<id> answers from (failed, reason).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLaunchTraining } from "../../../functions/launch-training/deps.ts";
import { launchTraining } from "../../../functions/launch-training/handler.ts";
import { StateEventLog } from "../../../platform/eventing/event-log.ts";
import { buildEvent, type AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { createLogger } from "../../../platform/log.ts";
import { openSqliteState, type StateStore } from "../../../platform/state/index.ts";
import { trainingEventsFromBackend } from "../../../platform/training/events.ts";
import { jobsApi } from "../../../platform/training/jobs-api.ts";
import { KubernetesTrainingBackend } from "../../../platform/training/kubernetes/backend.ts";
import { loggedFailedJob } from "../../../platform/training/logged-failures.ts";
import { jobIdFor } from "../../../platform/training/updates.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";

const NS = "ml";
const log = createLogger("silent");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fw-refused-"));
let kube: FakeKube;
let state: StateStore;
const backends: KubernetesTrainingBackend[] = [];
const backend = (dir: string, watch: boolean, onUpdate?: ConstructorParameters<typeof KubernetesTrainingBackend>[0]["onUpdate"]): KubernetesTrainingBackend => {
  const b = new KubernetesTrainingBackend({ kubeconfig: kube.kubeconfig, namespace: NS, ddpOperator: "pytorchjob", dataDir: path.join(tmp, dir), watch, onUpdate });
  backends.push(b);
  return b;
};

beforeAll(async () => {
  // An admission webhook that denies every Job: the API server answers 422 and nothing is created.
  kube = await startFakeKube({ namespace: NS, validate: (o) => (o.kind === "Job" ? ["spec.template: admission webhook denied the request"] : []) });
  state = await openSqliteState(path.join(tmp, "state.db"));
});

afterAll(async () => {
  for (const b of backends) await b.close();
  await kube?.close();
  await state?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it("answers a job refused at launch as failed with its reason, from the logged event; other unknown ids stay 404", async () => {
  // launch-training (scaled from zero, no watch) refuses; its training.failed goes to the broker, the event-log
  // function records it in the StateStore.
  const eventLog = new StateEventLog(state);
  const bus = { emit: async (e: AnyCloudEvent) => void (await eventLog.record(e, Date.now())) };
  const launcher = backend("launcher", false, trainingEventsFromBackend({ bus, log }));
  const requested = buildEvent("training.requested", { model: "iris", kind: "single", image: "img:1", command: ["python3", "t.py"] }, { source: "/test", id: "req-refused" });
  expect((await launchTraining(requested, createLaunchTraining({ bus, backend: launcher, log, status: launcher }))).status).toBe("done");
  const jobId = jobIdFor("iris", "req-refused");
  expect(kube.objects({ apiVersion: "batch/v1", kind: "Job" })).toHaveLength(0);

  // A UI replica: its watch-fed backend never heard of the job.
  const ui = backend("ui", true);
  expect(await ui.get(jobId)).toBeUndefined();
  const api = jobsApi({ backend: ui, bus, log, unknownJob: (id) => loggedFailedJob(state, id) });
  const res = await api.request(`/${jobId}`);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({
    id: jobId,
    model: "iris",
    state: "failed",
    reason: "SubmissionFailed",
    failureReason: "SubmissionFailed",
    message: expect.stringContaining("admission webhook denied"),
    history: [expect.objectContaining({ state: "failed", reason: "SubmissionFailed" })],
  });
  expect((await api.request(`/${jobIdFor("iris", "never-requested")}`)).status).toBe(404);
  // Without the event log (the behaviour before): 404.
  expect((await jobsApi({ backend: ui, bus, log }).request(`/${jobId}`)).status).toBe(404);
});
