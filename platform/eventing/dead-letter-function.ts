// FUNCTION_TARGET=deadLetter: the Broker's deadLetterSink in Knative mode, storing what delivery gave up on.
import path from "node:path";
import { HttpEventBus } from "../bus/http.ts";
import { parseConfig } from "../config/index.ts";
import { ConfigError } from "../errors.ts";
import { registerCloudEvent } from "../fn/framework.ts";
import { createLogger } from "../log.ts";
import { functionRegistry } from "../knative/registry.ts";
import { deadLetter, deadLetterCounter, type DeadLetterDeps } from "./dead-letter.ts";
import { DeadLetterStore } from "./dead-letter-store.ts";

export const FUNCTION_TARGET = "deadLetter";

/** The store lives on the volume at FLYWHEEL_DATA_DIR; the bus is only used to replay into the broker. */
export function deadLetterDepsFromEnv(env: Record<string, string | undefined> = process.env): DeadLetterDeps {
  const config = parseConfig(env);
  if (!config.knative.brokerUrl) throw new ConfigError(["K_SINK or FLYWHEEL_BROKER_URL: required to replay dead letters"]);
  return {
    bus: new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token }),
    log: createLogger(config.logLevel, { function: "dead-letter" }),
    now: Date.now,
    store: DeadLetterStore.open(path.join(config.dataDir, "dead-letters.sqlite")),
    deadLetters: deadLetterCounter(functionRegistry(FUNCTION_TARGET, config)),
  };
}

registerCloudEvent(FUNCTION_TARGET, deadLetter, () => deadLetterDepsFromEnv());
