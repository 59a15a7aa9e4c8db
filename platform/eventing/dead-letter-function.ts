// FUNCTION_TARGET=deadLetter: the Broker's deadLetterSink in Knative mode, storing what delivery gave up on.
import { HttpEventBus } from "../bus/http.ts";
import { parseConfig } from "../config/index.ts";
import { ConfigError } from "../errors.ts";
import { registerCloudEvent } from "../fn/framework.ts";
import { createLogger } from "../log.ts";
import { functionRegistry } from "../knative/registry.ts";
import { openPostgresState } from "../state/index.ts";
import { deadLetter, deadLetterCounter, type DeadLetterDeps } from "./dead-letter.ts";
import { StateDeadLetters } from "./dead-letter-state.ts";

export const FUNCTION_TARGET = "deadLetter";

/** Dead letters go to PostgreSQL (FLYWHEEL_DATABASE_URL), where every UI replica lists, replays and discards them. */
export async function deadLetterDepsFromEnv(env: Record<string, string | undefined> = process.env): Promise<DeadLetterDeps> {
  const config = parseConfig(env);
  const problems: string[] = [];
  if (!config.knative.brokerUrl) problems.push("K_SINK or FLYWHEEL_BROKER_URL: required to replay dead letters");
  if (!config.state.databaseUrl) problems.push("FLYWHEEL_DATABASE_URL: required, dead letters are kept in the shared state store");
  if (!config.knative.brokerUrl || !config.state.databaseUrl) throw new ConfigError(problems);
  return {
    bus: new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token }),
    log: createLogger(config.logLevel, { function: "dead-letter" }),
    now: Date.now,
    store: new StateDeadLetters(await openPostgresState(config.state.databaseUrl)),
    deadLetters: deadLetterCounter(functionRegistry(FUNCTION_TARGET, config)),
  };
}

registerCloudEvent(FUNCTION_TARGET, deadLetter, () => deadLetterDepsFromEnv());
