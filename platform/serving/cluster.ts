// Builds the cluster serving backend (Seldon or KServe) from in-cluster or kubeconfig credentials.
import type { Logger } from "../log.ts";
import type { ServingBackend } from "../ports.ts";
import { ConfigError } from "../errors.ts";

export async function clusterServingBackend(kind: "seldon" | "kserve", namespace: string, log: Logger): Promise<ServingBackend> {
  void namespace;
  void log;
  throw new ConfigError([`FLYWHEEL_SERVING_BACKEND=${kind}: not available in this build`]);
}
