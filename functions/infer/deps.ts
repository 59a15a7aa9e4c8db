// What infer needs injected: the serving backend(s), a V2 client, and optional registry, drift observer and LLM.
import type { InferenceLogger } from "../../platform/inference-log/logger.ts";
import type { Logger } from "../../platform/log.ts";
import type { DriftObserver, ModelRegistry, ServingBackend } from "../../platform/ports.ts";
import type { CandidateMetrics } from "./candidates.ts";
import type { V2Client } from "./client.ts";
import type { LlmConfig } from "./llm.ts";

export interface InferDeps {
  /** The backend deployments are looked up in (the platform's configured one). */
  readonly backend: ServingBackend;
  readonly client: V2Client;
  /** Labels and signature from lineage tags when the server's metadata does not carry them. */
  readonly registry?: ModelRegistry | undefined;
  /** Fed off the request path with each request's features and predictions. */
  readonly drift?: DriftObserver | undefined;
  /** Requests, errors and latency per answering candidate (what canary decisions query from Prometheus). */
  readonly candidates?: CandidateMetrics | undefined;
  /** OpenAI-compatible chat endpoint for natural language the deterministic parser cannot read. */
  readonly llm?: LlmConfig | undefined;
  /** fetch used for the LLM endpoint. */
  readonly fetch?: typeof fetch | undefined;
  readonly log: Logger;
  /** Issues the signed request id of every answer and writes sampled records (feedback joins on them). */
  readonly inferenceLog?: InferenceLogger | undefined;
  /** Max request body in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number | undefined;
  /** Max rows (CSV lines or records) per request (default 10,000; config infer.maxRows): bounds one request's CPU. */
  readonly maxRows?: number | undefined;
}
