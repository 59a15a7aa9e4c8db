// The spec and MLflow response schemas are built on first use, not at import (every function imports them through the
// event catalogue or the MLflow client, and a cold start pays for every schema built), and built the same way then.
import { afterEach, expect, it, vi } from "vitest";
import type * as Zod from "zod";

afterEach(() => {
  vi.doUnmock("zod");
  vi.resetModules();
});

it("importing the spec and MLflow schema modules builds no zod object or string schema; the first parse does", async () => {
  let built = 0;
  vi.resetModules();
  vi.doMock("zod", async (importOriginal) => {
    const z = await importOriginal<typeof Zod>();
    return {
      ...z,
      object: (...a: Parameters<typeof z.object>) => (built++, z.object(...a)),
      string: (...a: Parameters<typeof z.string>) => (built++, z.string(...a)),
    };
  });
  const { DeploymentSpecSchema } = await import("../../../platform/specs/deployment.ts");
  const { TrainingSpecSchema, trainingSpecBase, trainingSpecFields } = await import("../../../platform/specs/training.ts");
  const { RunSchema, parseAs } = await import("../../../platform/mlflow/schemas.ts");
  await import("../../../platform/events/catalogue.ts");
  expect(built).toBe(0);

  // Built on the first parse, with the same field-naming errors as when they were built at import.
  const ab = DeploymentSpecSchema.safeParse({ kind: "experiment", name: "ab", candidates: [{ name: "a", weight: 50 }, { name: "b", weight: 40 }] });
  expect(ab.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["candidates", "weights must sum to 100, got 90 (a=50, b=40)"]]);
  expect(built).toBeGreaterThan(0);
  const spec = TrainingSpecSchema.safeParse({ model: "Iris", command: ["python"], resources: { memory: "lots" } });
  expect(spec.error?.issues.map((i) => i.path.join(".")).sort()).toEqual(["model", "resources.memory"]);
  expect(() => parseAs(RunSchema, { info: { experiment_id: "0", status: "FINISHED" } }, "runs/get")).toThrow("runs/get: unexpected response shape at info.run_id");

  // Built once: later reads return the same schema.
  const before = built;
  expect(trainingSpecBase()).toBe(trainingSpecBase());
  expect(trainingSpecFields().has("dataWindow")).toBe(true);
  expect(DeploymentSpecSchema.safeParse({ kind: "model", name: "iris", model: "iris", version: "2" }).success).toBe(true);
  expect(built).toBe(before);
});
