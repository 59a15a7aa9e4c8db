// The spec and MLflow response schemas are built on first use, not at import (every function imports them through the
// event catalogue or the MLflow client, and a cold start pays for every schema built), and built the same way then.
import { afterEach, expect, it, vi } from "vitest";
import type * as Zod from "zod";

afterEach(() => {
  vi.doUnmock("zod");
  vi.resetModules();
});

/** Fresh modules with zod's object and string builders counted (only when `counts()` says so); read `built.n`. */
function countZodBuilds(counts: () => boolean = () => true): { n: number } {
  const built = { n: 0 };
  vi.resetModules();
  vi.doMock("zod", async (importOriginal) => {
    const z = await importOriginal<typeof Zod>();
    return {
      ...z,
      object: (...a: Parameters<typeof z.object>) => (counts() && built.n++, z.object(...a)),
      string: (...a: Parameters<typeof z.string>) => (counts() && built.n++, z.string(...a)),
    };
  });
  return built;
}

it("importing the spec and MLflow schema modules builds no zod object or string schema; the first parse does", async () => {
  const built = countZodBuilds();
  const { DeploymentSpecSchema } = await import("../../../platform/specs/deployment.ts");
  const { TrainingSpecSchema, trainingSpecBase, trainingSpecFields } = await import("../../../platform/specs/training.ts");
  const { RunSchema, parseAs } = await import("../../../platform/mlflow/schemas.ts");
  await import("../../../platform/events/catalogue.ts");
  expect(built.n).toBe(0);

  // Built on the first parse, with the same field-naming errors as when they were built at import.
  const ab = DeploymentSpecSchema.safeParse({ kind: "experiment", name: "ab", candidates: [{ name: "a", weight: 50 }, { name: "b", weight: 40 }] });
  expect(ab.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["candidates", "weights must sum to 100, got 90 (a=50, b=40)"]]);
  expect(built.n).toBeGreaterThan(0);
  const spec = TrainingSpecSchema.safeParse({ model: "Iris", command: ["python"], resources: { memory: "lots" } });
  expect(spec.error?.issues.map((i) => i.path.join(".")).sort()).toEqual(["model", "resources.memory"]);
  expect(() => parseAs(RunSchema, { info: { experiment_id: "0", status: "FINISHED" } }, "runs/get")).toThrow("runs/get: unexpected response shape at info.run_id");

  // Built once: later reads return the same schema.
  const before = built.n;
  expect(trainingSpecBase()).toBe(trainingSpecBase());
  expect(trainingSpecFields().has("dataWindow")).toBe(true);
  expect(DeploymentSpecSchema.safeParse({ kind: "model", name: "iris", model: "iris", version: "2" }).success).toBe(true);
  expect(built.n).toBe(before);
});

it("the ui's and infer's start-up modules build no zod object or string schema at import; a parse names the same fields", async () => {
  // Counted only when called from these modules (what they import may build its own: not theirs to defer).
  const files = /(eventing\/delivery|auth\/oidc|drift\/baseline|knative\/health|airflow\/client|training\/store|telemetry\/prometheus|kubernetes\/pods|kubernetes\/status|inference-log\/events)\.ts/;
  const caller = (): string => new Error().stack?.split("\n").find((l) => /\/(platform|pages)\//.test(l) && !l.includes("/test/")) ?? "";
  const built = countZodBuilds(() => files.test(caller()));
  const { DeliverySpecSchema } = await import("../../../platform/eventing/delivery.ts");
  const { PendingLoginSchema } = await import("../../../platform/auth/oidc.ts");
  const { parseBaseline } = await import("../../../platform/drift/baseline.ts");
  const { readiness } = await import("../../../platform/knative/health.ts");
  await import("../../../pages/airflow/client.ts");
  await import("../../../platform/training/store.ts");
  await import("../../../platform/telemetry/prometheus.ts");
  await import("../../../platform/training/kubernetes/pods.ts");
  await import("../../../platform/training/kubernetes/status.ts");
  await import("../../../platform/inference-log/events.ts");
  // dnsLabel (one z.string) stays eager: delivery.ts exports it for other schemas to compose.
  expect(built.n).toBe(1);

  const d = DeliverySpecSchema.safeParse({ deadLetterSink: { ref: { kind: "Service", name: "Bad_Name" } }, retry: -1 });
  expect(d.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
    ["deadLetterSink.ref.name", "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit"],
    ["retry", "must be >= 0"],
  ]);
  expect(PendingLoginSchema.safeParse({ state: "s", nonce: "n", verifier: "v", next: "/" }).error?.issues.map((i) => i.path.join("."))).toEqual(["exp"]);
  expect(() => parseBaseline({ version: 1, features: { x: { type: "numeric", edges: [0, 1], counts: [0] } } })).toThrow("baseline.features.x.counts");
  expect(() => readiness({ items: [{ metadata: {} }] })).toThrow();
  expect(built.n).toBeGreaterThan(1);
});
