// Runs a registered target until SIGTERM: shared by main.ts (tsx) and the per-function bundles.
import { parseConfig } from "../config/index.ts";
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { serveTarget, type Served } from "./serve.ts";

export async function runTarget(target: string, env: NodeJS.ProcessEnv = process.env): Promise<Served> {
  const config = parseConfig(env);
  const served = await serveTarget(target, config);
  createLogger(config.logLevel, { target }).info("listening", { port: served.port });
  const stop = (): void => {
    // Knative sends SIGTERM and waits the grace period: finish in-flight requests, flush spans, exit.
    served.close().then(
      () => process.exit(0),
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
