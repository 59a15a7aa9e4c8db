// The job monitor API over a real LocalTrainingBackend, with a bus that delivers training.requested to launch-training.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { launchTraining } from "../../../functions/launch-training/handler.ts";
import { createLaunchTraining } from "../../../functions/launch-training/deps.ts";
import { parseEvent, type AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { createLogger } from "../../../platform/log.ts";
import { jobsApi } from "../../../platform/training/jobs-api.ts";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";
import { jobIdFor } from "../../../platform/training/updates.ts";
import type { JobRecord } from "../../../platform/ports.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-api-"));
  const log = createLogger("silent");
  const emitted: AnyCloudEvent[] = [];
  const backend = new LocalTrainingBackend({ dataDir: dir, workdir: dir, env: { PATH: process.env.PATH }, killGraceMs: 300 });
  // Stands in for the broker: accept the event, then deliver it to launch-training.
  const bus = {
    emit: async (e: AnyCloudEvent) => {
      emitted.push(e);
      if (e.type === "dev.flywheel.training.requested") await launchTraining(e, deps);
    },
  };
  const deps = createLaunchTraining({ bus, backend, log });
  const app = jobsApi({ backend, bus, log });
  cleanups.push(async () => {
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const post = (body: string, contentType = "application/json") => app.request("/", { method: "POST", headers: { "content-type": contentType }, body });
  const job = async (id: string) => (await (await app.request(`/${id}`)).json()) as JobRecord & { reason?: string };
  const until = async (id: string, state: string) => {
    await expect.poll(async () => (await job(id)).state, { timeout: 15_000 }).toBe(state);
    return job(id);
  };
  return { dir, app, emitted, backend, post, job, until };
}

const node = JSON.stringify(process.execPath);

describe("jobs API", () => {
  it("POST / emits training.requested and answers 202 with the job id the function will use", async () => {
    const t = setup();
    const res = await t.post(JSON.stringify({ model: "iris", command: [process.execPath, "-e", "console.log('hi')"] }));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { eventId: string; jobId: string };
    expect(body.jobId).toBe(jobIdFor("iris", body.eventId));
    const ev = parseEvent(t.emitted[0] as AnyCloudEvent);
    expect(ev).toMatchObject({ id: body.eventId, type: "dev.flywheel.training.requested", data: { model: "iris", trigger: { reason: "api", eventId: body.eventId } } });
    const done = await t.until(body.jobId, "succeeded");
    expect(done.history.map((h) => h.state)).toEqual(["pending", "running", "succeeded"]);
  });

  it("accepts YAML and honours Idempotency-Key", async () => {
    const t = setup();
    const yaml = `kind: single\nmodel: iris\ncommand: [${node}, "-e", "1"]\nparams: {lr: "0.1"}\n`;
    const send = () => t.app.request("/", { method: "POST", headers: { "content-type": "application/yaml", "idempotency-key": "k-1" }, body: yaml });
    const a = (await (await send()).json()) as { jobId: string };
    const b = (await (await send()).json()) as { jobId: string };
    expect(a.jobId).toBe(b.jobId);
    expect(await t.backend.list()).toHaveLength(1);
  });

  it.each([
    ["unknown field and bad kind", JSON.stringify({ model: "iris", kind: "mpi", command: ["x"], gpus: 2 }), ["kind", "(root)"]],
    ["missing model", JSON.stringify({ kind: "single", command: ["x"] }), ["model"]],
    ["missing command and source", JSON.stringify({ model: "iris" }), ["command"]],
    ["bad quantity", JSON.stringify({ model: "iris", command: ["x"], resources: { cpu: "lots" } }), ["resources.cpu"]],
    ["replicas on single", JSON.stringify({ model: "iris", command: ["x"], replicas: 2 }), ["replicas"]],
    ["not JSON", "{nope", ["(root)"]],
    ["a list", "[1,2]", ["(root)"]],
    ["empty", "", ["(root)"]],
  ])("POST / rejects %s with field errors (400)", async (_name, body, fields) => {
    const t = setup();
    const res = await t.post(body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { issues: { field: string }[] };
    expect(json.issues.map((i) => i.field)).toEqual(expect.arrayContaining(fields));
    expect(t.emitted).toHaveLength(0);
  });

  it("lists with state/model filters and paging, and validates them", async () => {
    const t = setup();
    const ids: string[] = [];
    for (const [model, code] of [["iris", 0], ["wine", 0], ["iris", 3]] as const) {
      const res = await t.post(JSON.stringify({ model, command: [process.execPath, "-e", `process.exit(${code})`] }));
      ids.push(((await res.json()) as { jobId: string }).jobId);
    }
    await t.until(ids[2] ?? "", "failed");
    await t.until(ids[0] ?? "", "succeeded");
    const list = async (q: string) => ((await (await t.app.request(`/?${q}`)).json()) as { jobs: Record<string, unknown>[] }).jobs;
    expect((await list("model=iris")).map((j) => j.id).sort()).toEqual([ids[0], ids[2]].sort());
    const failed = await list("state=failed");
    expect(failed).toEqual([expect.objectContaining({ id: ids[2], state: "failed", kind: "single", model: "iris", reason: "NonZeroExit", createdAt: expect.any(Number) })]);
    expect(failed[0]).not.toHaveProperty("spec");
    expect(await list("limit=1")).toHaveLength(1);
    expect(await list("limit=2&offset=2")).toHaveLength(1);
    for (const q of ["state=done", "limit=0", "limit=x", "offset=-1"]) expect((await t.app.request(`/?${q}`)).status, q).toBe(400);
    expect((await t.app.request("/nope")).status).toBe(404);
  });

  it("streams logs as SSE while following, ending with end; plain text without the SSE accept header", async () => {
    const t = setup();
    const script = path.join(t.dir, "slow.cjs");
    fs.writeFileSync(script, `let i = 0; const t = setInterval(() => { console.log("tick " + i); if (++i === 3) { clearInterval(t); } }, 100);`);
    const { jobId } = (await (await t.post(JSON.stringify({ model: "iris", command: [process.execPath, script] }))).json()) as { jobId: string };
    const sse = await t.app.request(`/${jobId}/logs?follow=1`, { headers: { accept: "text/event-stream" } });
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    const text = await sse.text();
    expect(text).toContain("data: tick 0\n");
    expect(text).toContain("data: tick 2\n");
    expect(text).toMatch(/event: end\ndata: \{"state":"succeeded"/);
    const plain = await t.app.request(`/${jobId}/logs`);
    expect(await plain.text()).toBe("tick 0\ntick 1\ntick 2\n");
    expect((await t.app.request(`/${jobId}/logs?rank=5`)).status).toBe(400);
    expect((await t.app.request(`/${jobId}/logs?rank=-1`)).status).toBe(400);
  });

  it("ends the log stream of a failed launch with an error event", async () => {
    const t = setup();
    const { jobId } = (await (await t.post(JSON.stringify({ model: "iris", kind: "spark", command: ["app.py"] }))).json()) as { jobId: string };
    const res = await t.app.request(`/${jobId}/logs?follow=1`, { headers: { accept: "text/event-stream" } });
    const text = await res.text();
    expect(text).toContain("launch failed");
    expect(text).toMatch(/event: error\ndata: \{"state":"failed","reason":"SparkNotFound"/);
  });

  it("cancels a running job", async () => {
    const t = setup();
    const { jobId } = (await (await t.post(JSON.stringify({ model: "iris", command: [process.execPath, "-e", "setInterval(() => {}, 1000)"] }))).json()) as { jobId: string };
    await t.until(jobId, "running");
    const res = await t.app.request(`/${jobId}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: jobId, state: "cancelled", reason: "Cancelled" });
    expect((await t.app.request(`/unknown/cancel`, { method: "POST" })).status).toBe(404);
  });
});
