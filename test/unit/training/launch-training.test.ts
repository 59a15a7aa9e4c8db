// launch-training end to end in-process: real child processes, status events with derived ids, duplicates, Knative path.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { launchTraining } from "../../../functions/launch-training/handler.ts";
import { createLaunchTraining } from "../../../functions/launch-training/deps.ts";
import type { EventDataInput } from "../../../platform/events/catalogue.ts";
import { cloudEventRoute } from "../../../platform/fn/hono.ts";
import { buildEvent, deriveId, parseEvent, toHttpBinary, type AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { createLogger } from "../../../platform/log.ts";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";
import { KubernetesTrainingBackend } from "../../../platform/training/kubernetes/backend.ts";
import { trainingEventsFromBackend } from "../../../platform/training/events.ts";
import { jobIdFor } from "../../../platform/training/updates.ts";
import { startFakeKube } from "../../support/fake-kube/index.ts";
import { CloudEvent } from "cloudevents";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const log = createLogger("silent");

function localSetup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-lt-"));
  const events: AnyCloudEvent[] = [];
  const bus = { emit: async (e: AnyCloudEvent) => void events.push(e) };
  const backend = new LocalTrainingBackend({ dataDir: dir, workdir: dir, env: { PATH: process.env.PATH }, onUpdate: trainingEventsFromBackend({ bus, log }), killGraceMs: 300 });
  cleanups.push(async () => {
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const deps = createLaunchTraining({ bus, backend, log });
  return { dir, events, backend, deps };
}

const TRAINER = `
const fs = require("node:fs"); const d = process.env.FLYWHEEL_ARTIFACT_DIR;
fs.writeFileSync(d + "/metrics.json", JSON.stringify({ accuracy: 0.97, loss: 0.08, note: "ignored" }));
fs.writeFileSync(d + "/run.json", JSON.stringify({ run_id: "r1", experiment_id: "7" }));
if (process.env.FLYWHEEL_PARAM_FAIL === "1") { console.error("bad batch"); process.exit(4); }
`;

const requested = (data: EventDataInput<"training.requested">, id = "req-1") => buildEvent("training.requested", data, { source: "/test", id, traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });

describe("launch-training", () => {
  it("launches once for a thrice-delivered request and emits started/succeeded with the job's outputs", async () => {
    const t = localSetup();
    const script = path.join(t.dir, "train.cjs");
    fs.writeFileSync(script, TRAINER);
    const ev = requested({ model: "iris", command: [process.execPath, script], trigger: { reason: "schedule", schedule: "nightly" } });
    const outcomes = await Promise.all([launchTraining(ev, t.deps), launchTraining(ev, t.deps)]);
    outcomes.push(await launchTraining(ev, t.deps));
    const jobId = jobIdFor("iris", "req-1");
    expect(outcomes.map((o) => o.status).sort()).toEqual(["done", "duplicate", "duplicate"]);
    expect(outcomes.every((o) => o.detail === jobId)).toBe(true);
    expect(await t.backend.list()).toHaveLength(1);
    await expect.poll(() => t.events.map((e) => e.type), { timeout: 15_000 }).toEqual(["dev.flywheel.training.started", "dev.flywheel.training.succeeded"]);
    const [started, succeeded] = t.events.map((e) => parseEvent(e));
    expect(started?.id).toBe(deriveId(jobId, "training.started"));
    expect(succeeded?.id).toBe(deriveId(jobId, "training.succeeded"));
    expect(succeeded?.traceparent).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    expect(succeeded?.data).toMatchObject({
      jobId,
      model: "iris",
      backend: "local",
      trigger: { reason: "schedule", schedule: "nightly" },
      metrics: { accuracy: 0.97, loss: 0.08 },
      runId: "r1",
      experimentId: "7",
    });
    expect(String((succeeded?.data as { artifactUri: string }).artifactUri)).toMatch(/^file:\/\/.*\/jobs\/iris-[0-9a-f]{8}\/artifacts$/);
  });

  it("emits training.failed with exit code, rank and log tail", async () => {
    const t = localSetup();
    const script = path.join(t.dir, "train.cjs");
    fs.writeFileSync(script, TRAINER);
    await launchTraining(requested({ model: "iris", command: [process.execPath, script], params: { fail: "1" } }, "req-2"), t.deps);
    await expect.poll(() => t.events.map((e) => e.type), { timeout: 15_000 }).toContain("dev.flywheel.training.failed");
    const failed = parseEvent(t.events.find((e) => e.type.endsWith("failed")) as AnyCloudEvent);
    expect(failed.data).toMatchObject({ reason: "NonZeroExit", exitCode: 4, rank: 0, message: "rank 0 exited with code 4" });
    expect((failed.data as { logTail: string }).logTail).toContain("bad batch");
  });

  it("answers 400 to a bad request event when mounted, and never launches it", async () => {
    const t = localSetup();
    const app = cloudEventRoute("launch-training", launchTraining, t.deps);
    const bad = new CloudEvent<unknown>({ id: "x", source: "/t", type: "dev.flywheel.training.requested", datacontenttype: "application/json", data: { model: "Bad Name", kind: "gpu" } }, false);
    const { headers, body } = toHttpBinary(bad);
    const res = await app.request("/", { method: "POST", headers, body });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { issues: { field: string }[] };
    expect(json.issues.map((i) => i.field)).toEqual(expect.arrayContaining(["data.model", "data.kind"]));
    expect(await t.backend.list()).toHaveLength(0);
  });

  it("in Knative mode turns ApiServerSource events into training events through the same mapping", async () => {
    const kube = await startFakeKube({ namespace: "ml" });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-kn-"));
    const events: AnyCloudEvent[] = [];
    const bus = { emit: async (e: AnyCloudEvent) => void events.push(e) };
    const backend = new KubernetesTrainingBackend({ kubeconfig: kube.kubeconfig, namespace: "ml", ddpOperator: "pytorchjob", dataDir: dir, watch: false, onUpdate: trainingEventsFromBackend({ bus, log }) });
    cleanups.push(async () => {
      await backend.close();
      await kube.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const deps = createLaunchTraining({ bus, backend, log, status: backend });
    const out = await launchTraining(requested({ model: "iris", image: "img:1", command: ["python3", "t.py"] }, "req-k"), deps);
    expect(out.status).toBe("done");
    const jobId = jobIdFor("iris", "req-k");
    const obj = kube.setStatus({ apiVersion: "batch/v1", kind: "Job", namespace: "ml", name: jobId }, { succeeded: 1, conditions: [{ type: "Complete", status: "True", reason: "CompletionsReached" }] });
    const source = new CloudEvent<unknown>({ id: "as-1", source: "https://10.0.0.1:443", type: "dev.knative.apiserver.resource.update", subject: `/apis/batch/v1/namespaces/ml/jobs/${jobId}`, datacontenttype: "application/json", data: obj }, false);
    const res = await launchTraining(source, deps);
    expect(res).toMatchObject({ status: "done", emitted: [deriveId(jobId, "training.succeeded")] });
    const succeeded = parseEvent(events.find((e) => e.type === "dev.flywheel.training.succeeded") as AnyCloudEvent);
    expect(succeeded.data).toMatchObject({ jobId, backend: "kubernetes", artifactUri: `pvc://flywheel-artifacts/${jobId}`, object: { kind: "Job", name: jobId, namespace: "ml" } });
    const ref = new CloudEvent<unknown>({ id: "as-2", source: "https://10.0.0.1:443", type: "dev.knative.apiserver.ref.update", datacontenttype: "application/json", data: { kind: "Job", name: jobId, namespace: "ml", apiVersion: "batch/v1" } }, false);
    expect((await launchTraining(ref, deps)).emitted).toEqual([deriveId(jobId, "training.succeeded")]);
    const del = new CloudEvent<unknown>({ id: "as-3", source: "s", type: "dev.knative.apiserver.resource.delete", datacontenttype: "application/json", data: obj }, false);
    expect((await launchTraining(del, deps)).status).toBe("ignored");
  });
});
