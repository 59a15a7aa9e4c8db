// The inference log's pieces: signed ids, id-based sampling, the personal-data rule, day partitions with retention,
// range deletion, labelled rows (latest label wins), the data window handed to a training job, and the rollback rule.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { checkRollback } from "../../../functions/feedback/rollback.ts";
import { newDataCheck } from "../../../functions/retrain-on-drift/fresh-data.ts";
import { FileDataWindows, windowEnv } from "../../../platform/datasets/window.ts";
import type { AnyCloudEvent } from "../../../platform/events/index.ts";
import { FileInferenceLog, LiveAccuracy, requestIds, sampled, scrub, LoggingPolicySchema, type LabelledRow } from "../../../platform/inference-log/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { RetrainPolicySchema } from "../../../platform/policies/retrain.ts";
import { TrainingSpecSchema } from "../../../platform/specs/training.ts";
import type { ModelRegistry } from "../../../platform/ports.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "inference-log-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const DAY = 86_400_000;
const T = Date.parse("2026-12-06T10:00:00Z");

describe("request ids", () => {
  const ids = requestIds("a-secret-of-enough-length");
  it("verifies its own ids, bound to the deployment, and recovers the issue time", () => {
    const id = ids.issue("iris", T);
    expect(ids.verify("iris", id)).toBe(T);
    expect(ids.verify("wine", id)).toBeUndefined();
    expect(requestIds("another-secret-entirely").verify("iris", id)).toBeUndefined();
    expect(ids.verify("iris", id.replace(/.$/, (c) => (c === "A" ? "B" : "A")))).toBeUndefined();
    expect(ids.verify("iris", "not-an-id")).toBeUndefined();
  });
  it("never repeats a nonce, also across refills of the nonce pool (ids issued in one millisecond)", () => {
    const same = Array.from({ length: 1000 }, () => ids.issue("iris", T));
    expect(new Set(same).size).toBe(same.length);
    expect(same.every((id) => ids.verify("iris", id) === T)).toBe(true);
  });
  it("samples by id: the same decision every time, close to the rate over many ids", () => {
    const many = Array.from({ length: 4000 }, (_, i) => ids.issue("iris", T + i));
    const share = many.filter((id) => sampled(id, 0.25)).length / many.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
    expect(many.every((id) => sampled(id, 0.25) === sampled(id, 0.25))).toBe(true);
    expect(sampled(many[0] ?? "", 0)).toBe(false);
  });
});

describe("personal data", () => {
  it("drops and hashes named fields before anything is written", () => {
    const policy = LoggingPolicySchema.parse({ drop: ["email"], hash: ["customer"] });
    const row = scrub({ email: "a@b.c", customer: "c-42", x: 1 }, policy, "k");
    expect(row).not.toHaveProperty("email");
    expect(row.customer).toMatch(/^h:[0-9a-f]{32}$/);
    expect(scrub({ customer: "c-42" }, policy, "k").customer).toBe(row.customer);
    expect(row.x).toBe(1);
  });
  it("policies: per deployment over the model and the defaults", () => {
    const p = parsePolicies("defaults:\n  logging: {sampleRate: 0.5}\nmodels:\n  iris: {logging: {retentionDays: 7}}\ndeployments:\n  iris: {logging: {drop: [email]}}\n");
    expect(p.loggingFor("iris")).toMatchObject({ sampleRate: 0.5, retentionDays: 7, drop: ["email"] });
    expect(p.loggingFor("other")).toMatchObject({ sampleRate: 0.5, retentionDays: 30, drop: [] });
  });
});

describe("the store", () => {
  const store = new FileInferenceLog(path.join(tmp, "log"));
  const rec = (id: string, time: number) => ({ requestId: id, time, deployment: "iris", model: "iris", version: "1", rows: [{ x: 1 }], predictions: ["a"] });

  it("partitions by day, finds by id, deletes a range (rewriting a partly covered day), and prunes past retention", () => {
    store.append(rec("old", T - 40 * DAY));
    store.append(rec("a", T));
    store.append(rec("b", T + 1000));
    store.append(rec("c", T + 2000));
    expect(fs.readdirSync(path.join(tmp, "log", "requests", "iris")).sort()).toEqual(["2026-10-27.jsonl", "2026-12-06.jsonl"]);
    expect(store.find("iris", "b", T + 1000)?.requestId).toBe("b");
    expect(store.delete("iris", T + 500, T + 1500)).toBe(1);
    expect(store.find("iris", "b", T + 1000)).toBeUndefined();
    expect(store.records("iris", 0, T + DAY).map((r) => r.requestId)).toEqual(["old", "a", "c"]);
    expect(store.prune("iris", 30, T)).toBe(1);
    expect(store.records("iris", 0, T + DAY).map((r) => r.requestId)).toEqual(["a", "c"]);
  });

  it("keeps the latest label per request row and counts rows labelled after a time", () => {
    const row = (label: string, labelledAt: number): LabelledRow => ({ requestId: "a", row: 0, time: T, labelledAt, deployment: "iris", model: "iris", version: "1", features: { x: 1 }, label, predicted: "a" });
    store.addLabelled([row("a", T + 10), row("b", T + 20)]);
    expect(store.labelled("iris", T - DAY, T + DAY).map((r) => r.label)).toEqual(["b"]);
    expect(store.labelledSince("iris", T + 15)).toBe(1);
    expect(store.labelledSince("iris", T + 25)).toBe(0);
  });

  it("a spec's window becomes one CSV per training request, and the env names it and the window", () => {
    const windows = new FileDataWindows({ store, dir: path.join(tmp, "datasets") });
    const spec = TrainingSpecSchema.parse({ model: "iris", command: ["x"], dataset: "file:///base.csv", dataWindow: { days: 7 } });
    const w = windows.materialize(spec, "job-1", T + DAY);
    expect(w).toMatchObject({ model: "iris", days: 7, rows: 1, from: T + DAY - 7 * DAY, to: T + DAY });
    expect(fs.readFileSync(fileURLToPath(w?.uri ?? ""), "utf8")).toBe("x,label\n1,b\n");
    // A redelivery reuses the first resolution, even later.
    expect(windows.materialize(spec, "job-1", T + 5 * DAY)).toEqual(w);
    const env = windowEnv(spec, w);
    expect(env.FLYWHEEL_DATASET).toBe("file:///base.csv");
    expect(env.FLYWHEEL_WINDOW_DATASET).toBe(w?.uri);
    expect(JSON.parse(env.FLYWHEEL_DATA_WINDOW ?? "{}")).toMatchObject({ days: 7, rows: 1, from: "2026-11-30T10:00:00.000Z" });
  });
});

describe("retrain's new-data policy", () => {
  const policy = RetrainPolicySchema.parse({});
  it("skips with a reason when nothing was labelled since the champion; passes otherwise or when turned off", () => {
    const champion = { version: "3", createdAt: T };
    const none = newDataCheck({ labelledSince: () => 0 }, policy, "iris", champion);
    expect(none.ok).toBe(false);
    expect(none.ok ? "" : none.message).toMatch(/no labelled feedback for iris since champion version 3.*requireNewData: false/);
    expect(newDataCheck({ labelledSince: () => 5 }, policy, "iris", champion)).toEqual({ ok: true, rows: 5 });
    expect(newDataCheck({ labelledSince: () => 0 }, RetrainPolicySchema.parse({ requireNewData: false }), "iris", champion).ok).toBe(true);
  });
});

describe("accuracy rollback policy", () => {
  const aliases: Record<string, string> = { champion: "2", "previous-champion": "1" };
  const registry = {
    findVersionByAlias: async (_m: string, alias: string) => {
      const v = aliases[alias];
      return v ? { version: v } : undefined;
    },
  } as unknown as ModelRegistry;
  it("asks log-model to roll back once when the champion trails the previous champion's live accuracy", async () => {
    const emitted: AnyCloudEvent[] = [];
    const accuracy = new LiveAccuracy(new Registry(), 50);
    for (let i = 0; i < 30; i++) accuracy.add("iris", "1", true);
    const deps = {
      bus: { emit: async (e: AnyCloudEvent) => void emitted.push(e) }, log: createLogger("silent"), now: () => T,
      store: new FileInferenceLog(path.join(tmp, "rb")), ids: requestIds("a-secret-of-enough-length"), accuracy,
      policies: parsePolicies("defaults:\n  feedback: {rollbackOnAccuracyDrop: true, minSamples: 20}\n"), registry,
    };
    for (let i = 0; i < 19; i++) accuracy.add("iris", "2", false);
    expect(await checkRollback(deps, "iris", "2")).toBeUndefined(); // too few labels yet
    accuracy.add("iris", "2", false);
    const id = await checkRollback(deps, "iris", "2");
    expect(emitted.map((e) => [e.type, e.id, (e.data as { action: string }).action])).toEqual([["dev.flywheel.model.promotion.requested", id, "rollback"]]);
    expect(await checkRollback(deps, "iris", "2")).toBeUndefined();
    const off = { ...deps, policies: parsePolicies("{}") };
    expect(await checkRollback(off, "iris", "2")).toBeUndefined();
  });
});
