// examples/mlflow-requests/session.py (Debian python3-requests) against the embedded registry served over HTTP.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startHttpRegistry, type HttpRegistry } from "./http-registry.ts";
import { requirePythonModules } from "../../support/require-binary.ts";

const run = promisify(execFile);
let srv: HttpRegistry;
beforeAll(async () => (srv = await startHttpRegistry()));
afterAll(async () => srv.close());

it("session.py does an ordinary MLflow session with plain requests", async () => {
  const script = path.resolve("examples/mlflow-requests/session.py");
  const { stdout } = await run(requirePythonModules({ requests: "python3-requests" }), [script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", MLFLOW_TRACKING_URI: srv.url, MODEL_NAME: "py-model" },
    timeout: 50_000,
  });
  const summary: unknown = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
  expect(summary).toMatchObject({
    run_status: "FINISHED",
    params: { alpha: "0.5", l1_ratio: "0.1" },
    metrics: { rmse: 0.55, mae: 0.4 },
    rmse_history: [0.9, 0.7, 0.55],
    artifacts: ["MLmodel"],
    run_artifacts: ["model/MLmodel"],
    model: "py-model",
    version: "1",
    version_status: "READY",
    alias_version: "1",
    downloaded_matches: true,
  });
  expect(String(Object(summary).download_uri)).toMatch(/^mlflow-artifacts:\/\d+\/[0-9a-f]{32}\/artifacts\/model$/);
}, 60_000);
