import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, list, startHarness, type Harness } from "./harness.ts";

let h: Harness;
let outside = "";
beforeAll(() => {
  h = startHarness();
  outside = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-outside-"));
  fs.writeFileSync(path.join(outside, "secret.txt"), "top secret");
});
afterAll(() => {
  h.close();
  fs.rmSync(outside, { recursive: true, force: true });
});

describe("artifacts proxy", () => {
  it("PUT then GET returns the bytes; list answers basenames with is_dir and file_size", async () => {
    expect((await h.call("PUT", "/mlflow-artifacts/artifacts/0/r1/artifacts/model/MLmodel", "flavors: {}\n")).status).toBe(200);
    expect((await h.call("PUT", "/mlflow-artifacts/artifacts/0/r1/artifacts/model/sub/w.bin", "abc")).status).toBe(200);
    const g = await h.call("GET", "/mlflow-artifacts/artifacts/0/r1/artifacts/model/MLmodel");
    expect(g.status).toBe(200);
    expect(g.text).toBe("flavors: {}\n");
    const l = await h.call("GET", "/mlflow-artifacts/artifacts?path=0/r1/artifacts/model");
    expect(l.json).toEqual({ files: [{ path: "MLmodel", is_dir: false, file_size: 12 }, { path: "sub", is_dir: true }] });
    expect((await h.call("GET", "/mlflow-artifacts/artifacts?path=0/none")).json).toEqual({});
  });

  it("GET of a missing file is 404; DELETE removes", async () => {
    expect((await h.call("GET", "/mlflow-artifacts/artifacts/0/missing.txt")).status).toBe(404);
    await h.call("PUT", "/mlflow-artifacts/artifacts/0/del/a.txt", "x");
    expect((await h.call("DELETE", "/mlflow-artifacts/artifacts/0/del/a.txt")).status).toBe(200);
    expect((await h.call("GET", "/mlflow-artifacts/artifacts/0/del/a.txt")).status).toBe(404);
  });

  it("mlflow/artifacts/list lists a run's artifacts relative to its root", async () => {
    const runId = String(get((await h.call("POST", "/mlflow/runs/create", { experiment_id: "0" })).json, "run", "info", "run_id"));
    await h.call("PUT", `/mlflow-artifacts/artifacts/0/${runId}/artifacts/model/model.onnx`, "onnx");
    await h.call("PUT", `/mlflow-artifacts/artifacts/0/${runId}/artifacts/baseline.json`, "{}");
    const root = await h.call("GET", `/mlflow/artifacts/list?run_id=${runId}`);
    expect(root.json.root_uri).toBe(`mlflow-artifacts:/0/${runId}/artifacts`);
    expect(list(root.json, "files")).toEqual([{ path: "baseline.json", is_dir: false, file_size: 2 }, { path: "model", is_dir: true }]);
    const sub = await h.call("GET", `/mlflow/artifacts/list?run_id=${runId}&path=model`);
    expect(list(sub.json, "files")).toEqual([{ path: "model/model.onnx", is_dir: false, file_size: 4 }]);
    expect((await h.call("GET", `/mlflow/artifacts/list?run_id=${runId}&path=../..`)).status).toBe(400);
  });
});

describe("artifact paths are confined to the artifact root", () => {
  const invalidPath = { error_code: "INVALID_PARAMETER_VALUE", message: "Invalid path" };

  it.each([
    ["GET", "/mlflow-artifacts/artifacts/0/a%2F..%2F..%2F..%2Fregistry.sqlite"],
    ["PUT", "/mlflow-artifacts/artifacts/0%2F..%2F..%2Fescape.txt"],
    ["DELETE", "/mlflow-artifacts/artifacts/x%2F..%2F..%2F"],
    ["GET", "/mlflow-artifacts/artifacts/0/%252E%252E/%252E%252E/registry.sqlite"],
    ["GET", "/mlflow-artifacts/artifacts?path=../"],
    ["GET", "/mlflow-artifacts/artifacts?path=0/../../"],
    ["GET", "/mlflow-artifacts/artifacts?path=0%23/x"],
  ])("'..' (or '#') in %s %s -> 400", async (method, p) => {
    const r = await h.call(method, p, method === "PUT" ? "data" : undefined);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(invalidPath);
    expect(fs.existsSync(path.join(h.dataDir, "escape.txt"))).toBe(false);
  });

  it.each([
    ["GET", "/mlflow-artifacts/artifacts//etc/passwd"],
    ["PUT", "/mlflow-artifacts/artifacts//tmp/flywheel-abs-escape.txt"],
    ["GET", "/mlflow-artifacts/artifacts?path=/etc"],
    ["GET", "/mlflow-artifacts/artifacts/C:%5CWindows"],
  ])("absolute path in %s %s -> 400", async (method, p) => {
    const r = await h.call(method, p, method === "PUT" ? "data" : undefined);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(invalidPath);
    expect(fs.existsSync("/tmp/flywheel-abs-escape.txt")).toBe(false);
  });

  it("a symlink inside the root that points outside cannot be read, listed or written through", async () => {
    fs.mkdirSync(path.join(h.server.artifactRoot, "0"), { recursive: true });
    fs.symlinkSync(outside, path.join(h.server.artifactRoot, "0", "link"));
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(h.server.artifactRoot, "0", "file-link"));
    for (const [method, p] of [
      ["GET", "/mlflow-artifacts/artifacts/0/link/secret.txt"],
      ["GET", "/mlflow-artifacts/artifacts/0/file-link"],
      ["GET", "/mlflow-artifacts/artifacts?path=0/link"],
      ["PUT", "/mlflow-artifacts/artifacts/0/link/planted.txt"],
      ["DELETE", "/mlflow-artifacts/artifacts/0/link/secret.txt"],
    ] as const) {
      const r = await h.call(method, p, method === "PUT" ? "data" : undefined);
      expect({ method, p, status: r.status, body: r.json }).toEqual({ method, p, status: 400, body: invalidPath });
    }
    expect(fs.existsSync(path.join(outside, "planted.txt"))).toBe(false);
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("top secret");
  });
});
