// infer bounds the CPU one request takes (issue 17): a request over the row cap is a 400 naming the field and the limit,
// and a batch at the cap, several at once, does not stall /healthz (polled over a real socket) past the hang limit.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAX_ROWS, MAX_INFER_BODY } from "../../../functions/infer/index.ts";
import type { ResolvedModel } from "../../../platform/ports.ts";
import { DeploymentSpecSchema } from "../../../platform/specs/deployment.ts";
import { scaleModel } from "../../unit/serving/onnx-fixtures.ts";
import { startTestPlatform, type TestPlatform } from "../../support/platform.ts";

const COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
/** A hang limit, not a speed goal (the same as the fuzz suite's): without the cap, four 1 MiB CSVs hold the event loop for seconds. */
const HEALTH_LIMIT_MS = 2_000;
/** The most 16-byte rows that fit the 1 MiB infer body limit with the header (~65k: what one request could carry before the cap). */
const MAX_BODY_ROWS = Math.floor((MAX_INFER_BODY - COLUMNS.join(",").length - 1) / "5.1,3.5,1.4,0.2\n".length);
const csv = (rows: number): string => `${COLUMNS.join(",")}\n${"5.1,3.5,1.4,0.2\n".repeat(rows)}`;

let p: TestPlatform;
let modelDir = "";
beforeAll(async () => {
  p = await startTestPlatform({ FLYWHEEL_LOG_LEVEL: "silent" });
  modelDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-rowcap-model-"));
  fs.writeFileSync(path.join(modelDir, "model.onnx"), scaleModel(1, 4));
  const resolved: ResolvedModel = {
    model: "wide",
    version: "1",
    storageUri: `file://${modelDir}`,
    localPath: modelDir,
    flavors: ["onnx"],
    signature: { inputs: COLUMNS.map((name) => ({ name, type: "double" })), outputs: [{ name: "y", type: "float" }] },
    labels: ["a", "b", "c", "d"],
  };
  await p.platform.serving.apply(DeploymentSpecSchema.parse({ kind: "model", name: "wide", model: "wide", version: "1" }), { revision: "r1", models: { wide: resolved } });
}, 60_000);
afterAll(async () => {
  await p?.stop();
  fs.rmSync(modelDir, { recursive: true, force: true });
});

const infer = (body: string, ct: string): Promise<Response> => fetch(`${p.url}/infer/wide`, { method: "POST", headers: { "content-type": ct }, body });

describe("infer row cap", () => {
  it.each([
    ["CSV", csv(DEFAULT_MAX_ROWS + 1), "text/csv"],
    ["a JSON list of records", JSON.stringify(Array.from({ length: DEFAULT_MAX_ROWS + 1 }, () => ({ sepal_length: 1, sepal_width: 2, petal_length: 3, petal_width: 4 }))), "application/json"],
  ])("refuses %s over the cap with a 400 naming the field and the limit", async (_name, body, ct) => {
    const res = await infer(body, ct);
    expect(res.status).toBe(400);
    const out = (await res.json()) as { code: string; issues: { field: string; message: string }[] };
    expect(out.code).toBe("INVALID_ARGUMENT");
    expect(out.issues[0]?.field).toBe("body");
    expect(out.issues[0]?.message).toMatch(/at most 10000 rows per request \(FLYWHEEL_INFER_MAX_ROWS\)/);
  });

  it("answers four CSVs at the cap, and refuses four at the 1 MiB body limit, at once while /healthz keeps answering within the hang limit", async () => {
    let polling = true;
    let worst = 0;
    let polls = 0;
    const poller = (async () => {
      while (polling) {
        const t = performance.now();
        const res = await fetch(`${p.url}/healthz`, { signal: AbortSignal.timeout(HEALTH_LIMIT_MS * 5) });
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        worst = Math.max(worst, performance.now() - t);
        polls++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const send = (rows: number): Promise<{ status: number; body: { predictions?: unknown[] } }> => infer(csv(rows), "text/csv").then(async (r) => ({ status: r.status, body: (await r.json()) as { predictions?: unknown[] } }));
    const [atCap, atBodyLimit] = await Promise.all([Promise.all([1, 2, 3, 4].map(() => send(DEFAULT_MAX_ROWS))), Promise.all([1, 2, 3, 4].map(() => send(MAX_BODY_ROWS)))]);
    polling = false;
    await poller;
    for (const a of atCap) {
      expect(a.status).toBe(200);
      expect(a.body.predictions).toHaveLength(DEFAULT_MAX_ROWS);
    }
    for (const a of atBodyLimit) expect(a.status).toBe(400);
    expect(polls).toBeGreaterThan(1);
    expect(worst, `worst /healthz ${Math.round(worst)} ms`).toBeLessThan(HEALTH_LIMIT_MS);
  }, 120_000);
});
