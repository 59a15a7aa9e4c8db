// The UI's in-process inference acts for the signed-in user: the same role rules as /v2 and /infer, checked per call.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { createAuth, type Role } from "../../../platform/auth/index.ts";
import { Signer } from "../../../platform/auth/session.ts";
import { accessRules } from "../../../platform/app/access.ts";
import { uiInference } from "../../../platform/app/ui-inference.ts";
import { parseConfig } from "../../../platform/config/index.ts";
import { toHttpError } from "../../../platform/errors.ts";
import { createLogger } from "../../../platform/log.ts";
import type { V2Client } from "../../../functions/infer/client.ts";

const KEY = "a-session-key-for-the-ui-inference-test-01";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ui-infer-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const target = { url: "http://127.0.0.1:1", model: "iris", headers: {} };
const request = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32" as const, data: [6.7, 3, 5.2, 2.3] }] };

/** An app whose UI page calls each inference kind; `reached` counts the calls that got past the check. */
async function appFor(protectInference: boolean): Promise<{ app: Hono; reached: string[] }> {
  const reached: string[] = [];
  const v2: V2Client = {
    metadata: async () => (reached.push("metadata"), { name: "iris", versions: ["1"], platform: "onnx", inputs: [], outputs: [] }),
    infer: async () => (reached.push("infer"), { response: { id: "1", model_name: "iris", outputs: [] }, headers: {} }),
  };
  const ui = uiInference({ rules: accessRules({ protectInference }), v2, inferText: async () => (reached.push("text"), { predictions: [] }) });
  const auth = await createAuth({ config: parseConfig({ FLYWHEEL_DATA_DIR: dir, FLYWHEEL_AUTH_TOKEN: "admin-token-0123456789abcdef", FLYWHEEL_SESSION_KEY: KEY }), log: createLogger("silent") });
  const app = new Hono();
  app.use(auth.middleware, ui.middleware);
  const calls = { metadata: () => ui.v2.metadata(target), infer: () => ui.v2.infer(target, request), text: () => ui.inferText("iris", "sepal length 5") };
  const answer = async (call: () => Promise<unknown>): Promise<Response> => {
    try {
      await call();
      return Response.json({ ok: true });
    } catch (e) {
      const { status, body } = toHttpError(e);
      return Response.json(body, { status });
    }
  };
  for (const [name, call] of Object.entries(calls)) app.get(`/ui/${name}`, () => answer(call));
  // An API route is no UI request: nobody to act for.
  app.get("/api/v1/call", () => answer(calls.infer));
  return { app, reached };
}

const as = (role: Role | undefined): RequestInit => (role ? { headers: { cookie: `fw_session=${new Signer(KEY).newSession(`${role}-user`, role).cookie}` } } : {});
const statusOf = async (app: Hono, url: string, role: Role | undefined): Promise<[number, string]> => {
  const res = await app.request(url, as(role));
  return [res.status, ((await res.json()) as { error?: string }).error ?? "ok"];
};

describe("the UI's inference calls with protected inference", () => {
  it("let a data scientist infer and a viewer read metadata, refuse the rest with who needs what, and never reach the server for them", async () => {
    const { app, reached } = await appFor(true);
    expect(await statusOf(app, "/ui/infer", "data-scientist")).toEqual([200, "ok"]);
    expect(await statusOf(app, "/ui/text", "data-scientist")).toEqual([200, "ok"]);
    expect(await statusOf(app, "/ui/metadata", "viewer")).toEqual([200, "ok"]);
    expect(await statusOf(app, "/ui/infer", "viewer")).toEqual([403, "inference on iris needs the data-scientist role; you are viewer"]);
    expect(await statusOf(app, "/ui/text", "viewer")).toEqual([403, "inference on iris needs the data-scientist role; you are viewer"]);
    expect(await statusOf(app, "/ui/metadata", undefined)).toEqual([401, "reading the metadata of iris: authentication required"]);
    expect(await statusOf(app, "/api/v1/call", "mlops-engineer")).toEqual([401, "inference on iris: authentication required"]);
    expect(reached).toEqual(["infer", "text", "metadata"]);
  });

  it("without protection, inference stays public as on /v2 and /infer", async () => {
    const { app, reached } = await appFor(false);
    expect(await statusOf(app, "/ui/infer", undefined)).toEqual([200, "ok"]);
    expect(await statusOf(app, "/ui/text", undefined)).toEqual([200, "ok"]);
    expect(reached).toEqual(["infer", "text"]);
  });
});
