// The gate verdict in the registry UI: a rejected candidate shows why (a tie, here), and the shared holdout the
// champion and the candidate were scored on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TAG } from "../../../platform/lineage.ts";
import type { ModelVersionInfo } from "../../../platform/ports.ts";
import { uiHarness, type Session, type UiHarness } from "./harness.ts";

let h: UiHarness;
let viewer: Session;
const v3: ModelVersionInfo = {
  name: "iris",
  version: "3",
  runId: "run00003",
  source: "mlflow-artifacts:/1/run00003/artifacts/model",
  status: "READY",
  tags: {
    [TAG.gate]: JSON.stringify({
      passed: false, metric: "accuracy", direction: "maximize", candidate: 0.9, champion: 0.9, minImprovement: 0, floors: {},
      reasons: ["scored on the same holdout: labelled feedback 2026-12-01 .. 2026-12-06, 96 rows, by onnxruntime", "accuracy 0.9 vs champion 0.9: a tie does not promote (allowTie: false)"],
      evaluation: { metric: "accuracy", method: "onnxruntime", dataset: "labelled feedback 2026-12-01 .. 2026-12-06", source: "window", rows: 96, candidate: 0.9, champion: 0.9, championVersion: "2" },
    }),
  },
  aliases: ["challenger"],
  creationTimestamp: 1_700_000_000_003,
};

beforeAll(async () => {
  h = await uiHarness();
  const models = h.fakes.deps.models;
  const search = models.searchModelVersions.bind(models);
  const get = models.getModelVersion.bind(models);
  Object.assign(models, {
    searchModelVersions: async (name: string) => [v3, ...(await search(name))],
    getModelVersion: async (name: string, version: string) => (version === "3" ? v3 : get(name, version)),
  });
  viewer = await h.as("viewer");
});
afterAll(() => h.close());

describe("gate verdict", () => {
  it("the versions list says rejected, with both scores, the holdout and the deciding reason", async () => {
    const html = await (await viewer.get("/models/iris")).text();
    expect(html).toContain('<span class="badge failed">rejected</span>');
    expect(html).toContain("accuracy 0.9 vs champion 0.9 on labelled feedback 2026-12-01 .. 2026-12-06 (96 rows, onnxruntime)");
    expect(html).toContain("a tie does not promote (allowTie: false)");
  });

  it("the version page lists every reason", async () => {
    const html = await (await viewer.get("/models/iris/versions/3")).text();
    expect(html).toContain("<li>scored on the same holdout: labelled feedback 2026-12-01 .. 2026-12-06, 96 rows, by onnxruntime</li>");
    expect(html).toContain("<li>accuracy 0.9 vs champion 0.9: a tie does not promote (allowTie: false)</li>");
  });
});
