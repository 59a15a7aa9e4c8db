// Embedded mode's readiness checks: the broker, the registry, the V2 server and the training job store.
import fs from "node:fs";
import type { EmbeddedBroker } from "../local/broker/index.ts";
import type { MlflowClient } from "../mlflow/index.ts";
import type { LocalTrainingBackend } from "../training/local/backend.ts";
import type { HealthCheck } from "./health.ts";

export function embeddedChecks(o: {
  broker: EmbeddedBroker;
  training: LocalTrainingBackend;
  mlflow: MlflowClient;
  /** The external MLflow, when there is one (it has its own /health). */
  external: string | undefined;
  /** The admin token, for the in-process registry's check. */
  token: string | undefined;
  selfUrl: string;
  dataDir: string;
  inProcessFetch: typeof fetch;
}): HealthCheck[] {
  const { selfUrl, inProcessFetch } = o;
  return [
    { name: "broker", check: () => o.broker.ready() || "broker not started" },
    {
      name: "registry",
      // External MLflow: its own /health (failing while unreachable); embedded: the in-process registry answers.
      check: o.external
        ? () => o.mlflow.health()
        : async () => ((await inProcessFetch(`${selfUrl}/api/2.0/mlflow/experiments/get?experiment_id=0`, { headers: o.token ? { authorization: `Bearer ${o.token}` } : {} })).ok ? true : "registry not answering"),
    },
    // The V2 server answers on this port (the same path KServe and MLServer probe).
    { name: "serving", check: async () => ((await inProcessFetch(`${selfUrl}/v2/health/live`)).ok ? true : "the V2 inference server is not answering") },
    // The job store answers a query and the data directory takes new job directories.
    {
      name: "training",
      check: async (): Promise<true> => {
        await o.training.list({ limit: 1 });
        await fs.promises.access(o.dataDir, fs.constants.W_OK);
        return true;
      },
    },
  ];
}
