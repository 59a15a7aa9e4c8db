// Runs a registered target until SIGTERM: shared by main.ts (tsx) and the per-function bundles.
import { parseConfig } from "../config/index.ts";
import { ConfigError } from "../errors.ts";
import { startDeps } from "../fn/starters.ts";
import { createLogger } from "../log.ts";
import { serveTarget, type Served } from "./serve.ts";

export async function runTarget(target: string, env: NodeJS.ProcessEnv = process.env): Promise<Served> {
  const config = parseConfig(env);
  // Connections the first event needs open while the server starts (a no-op for targets that registered no starter).
  startDeps(target);
  const served = await serveTarget(target, config);
  createLogger(config.logLevel, { target }).info("listening", { port: served.port });
  const log = createLogger(config.logLevel, { target });
  const stop = (): void => {
    // Knative sends SIGTERM and waits the grace period: finish in-flight requests, flush spans, exit 0. Requests still
    // running at FLYWHEEL_DRAIN_SECONDS are cut (exit 1) before the kubelet's SIGKILL would, so the log says so.
    log.info("draining", { seconds: config.knative.drainSeconds });
    served.close().then(
      (inTime) => {
        if (!inTime) log.warn("drain deadline passed: requests in flight were cut", { seconds: config.knative.drainSeconds });
        process.exit(inTime ? 0 : 1);
      },
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return served;
}

/** For entry points: print a config problem without a stack and exit 1. */
export function exitOnStartupError(e: unknown): never {
  process.stderr.write(`${e instanceof ConfigError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exit(1);
}
