// What every function needs to answer its first realistic request 2xx, shared by the whole cold-start bench: one real
// PostgreSQL, one fake MLflow, one fake Kubernetes API server with a stand-in InferenceService at a real V2 server (the
// embedded platform serving the demo's iris model), and a broker sink.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { runDemo } from "../../platform/cli/commands/demo.ts";
import { startFakeKube, type FakeKube } from "../../test/support/fake-kube/index.ts";
import { startFakeMlflow, type FakeMlflow } from "../../test/support/fake-mlflow/index.ts";
import { standInInferenceService, writeKubeconfig } from "../../test/support/knative-process.ts";
import { startTestPlatform, type TestPlatform } from "../../test/support/platform.ts";
import { startPostgres, type TestPostgres } from "../../test/support/postgres.ts";

const NS = "flywheel";
const quiet = { line: () => undefined, json: () => undefined, error: () => undefined };

export interface BenchDeps {
  /** Environment every function gets (on top of the bench's base). */
  readonly env: Record<string, string>;
  /** A raw V2 inference request body for the stand-in deployment `iris`, built from the served model's metadata. */
  readonly v2Body: string;
  close(): Promise<void>;
}

function startSink(): Promise<http.Server> {
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(202).end());
  });
  return new Promise((r) => sink.listen(0, "127.0.0.1", () => r(sink)));
}

export async function startBenchDeps(root: string, dir: string, token: string): Promise<BenchDeps> {
  let pg: TestPostgres | undefined;
  let mlflow: FakeMlflow | undefined;
  let kube: FakeKube | undefined;
  let platform: TestPlatform | undefined;
  let sink: http.Server | undefined;
  const close = async (): Promise<void> => {
    await Promise.allSettled([mlflow?.close(), kube?.close(), platform?.stop(), new Promise((r) => (sink ? sink.close(r) : r(undefined)))]);
    await pg?.stop();
  };
  try {
    [pg, mlflow, kube, sink] = await Promise.all([startPostgres(), startFakeMlflow(), startFakeKube({ namespace: NS }), startSink()]);
    platform = await startTestPlatform({}, path.join(dir, "platform"));
    await runDemo(platform.api, root, quiet, true);
    standInInferenceService(kube, { name: "iris", namespace: NS, model: "iris", version: "1", url: platform.url });
    const meta = (await (await fetch(`${platform.url}/v2/models/iris`, { headers: { authorization: `Bearer ${platform.token ?? ""}` } })).json()) as {
      inputs: { name: string; datatype: string; shape: number[] }[];
    };
    const input = meta.inputs[0];
    if (!input) throw new Error("the demo's iris model has no input in its V2 metadata");
    const v2Body = JSON.stringify({ inputs: [{ name: input.name, datatype: input.datatype, shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
    fs.mkdirSync(path.join(dir, "kube"), { recursive: true });
    const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
    return {
      env: {
        FLYWHEEL_DATABASE_URL: await pg.createDatabase("coldstart"),
        FLYWHEEL_SESSION_KEY: "a-session-key-every-ui-replica-shares-0123",
        MLFLOW_TRACKING_URI: mlflow.url,
        FLYWHEEL_BROKER_URL: sinkUrl,
        KUBECONFIG: writeKubeconfig(path.join(dir, "kube"), kube.kubeconfigYaml),
        FLYWHEEL_NAMESPACE: NS,
        FLYWHEEL_AUTH_TOKEN: token,
      },
      v2Body,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
