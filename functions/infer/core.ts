// The infer pipeline shared by the HTTP route and the CloudEvent handler: find the deployment, read its model info,
// turn any accepted input into the exact V2 request, call the right backend target, decode, and feed drift.
import { NotFoundError } from "../../platform/errors.ts";
import type { InferRequest, InferResponse } from "../../platform/serving/v2/types.ts";
import { answeringCandidate, outcomeOfError } from "./candidates.ts";
import { buildRequestPaced, featureNames, InputMismatchError } from "./build.ts";
import { decodeOutputsPaced, predictedClasses, type Prediction } from "./decode.ts";
import type { InferDeps } from "./deps.ts";
import type { InferInput } from "./input.ts";
import { answeredVersion } from "./version.ts";
import { extractWithLlm } from "./llm.ts";
import type { ModelInfoCache } from "./model-info.ts";
import { parseNaturalLanguage } from "./nl.ts";
import { DEFAULT_MAX_ROWS, forEachPaced, tooManyRows } from "./pace.ts";

export interface InferResult {
  readonly deployment: string;
  readonly model?: string | undefined;
  readonly version?: string | undefined;
  /** Which candidate answered (experiments), or the model that did. */
  readonly route?: string | undefined;
  readonly predictions: Prediction[];
  /** The first prediction, when a single record (or one sentence) was sent. */
  readonly prediction?: Prediction | undefined;
  /** How the input was read: record(s), csv, v2, text (parser) or text (llm). */
  readonly parsedAs: string;
  /** The V2 response, only when a raw V2 request was sent. */
  readonly response?: InferResponse | undefined;
  /** The server-generated request id (also the x-request-id header): feedback refers to it. */
  readonly requestId?: string | undefined;
}

export async function inferDeployment(deps: InferDeps, cache: ModelInfoCache, deployment: string, input: InferInput, parsedAs: string, requestId?: string): Promise<InferResult> {
  const status = await deps.backend.get(deployment);
  if (!status) {
    const deployed = (await deps.backend.list()).map((d) => d.name);
    throw new NotFoundError(`deployment ${deployment} not found; deployed: ${deployed.length ? deployed.join(", ") : "(none)"}`);
  }
  const target = await deps.backend.target(deployment);
  const info = await cache.get(deps, status, target);

  let request: InferRequest;
  let features: Record<string, number[]> = {};
  let single = false;
  let how = parsedAs;
  if (input.kind === "v2") request = input.request;
  else {
    let records = input.kind === "records" ? input.records : [];
    single = input.kind === "records" ? input.single : true;
    if (input.kind === "text") {
      const names = featureNames(info).map((f) => f.name);
      const parsed = parseNaturalLanguage(input.text, names);
      if (parsed.missing.length && deps.llm) {
        const extracted = await extractWithLlm(deps.llm, input.text, names, deps.fetch);
        records = [{ ...extracted, ...parsed.record }];
        how = "text (llm)";
      } else if (parsed.missing.length) {
        throw new InputMismatchError(
          [
            { field: "text", message: `could not find ${parsed.missing.join(", ")} in the text; write e.g. "${names.map((n, i) => `${n.replaceAll("_", " ")} ${i + 1}.0`).join(", ")}"` },
            ...parsed.unknown.map((u) => ({ field: "text", message: `${u} is not an input of this model` })),
          ],
          featureNames(info),
        );
      } else {
        records = [parsed.record];
        how = "text (parser)";
      }
    }
    // The CloudEvent path arrives here without readInput: the same cap on CPU per request.
    const maxRows = deps.maxRows ?? DEFAULT_MAX_ROWS;
    if (records.length > maxRows) throw tooManyRows("records", maxRows, records.length);
    ({ request, features } = await buildRequestPaced(records, info));
  }
  const seen: { headers?: Record<string, string> } = {};
  const started = performance.now();
  let answer;
  try {
    answer = await deps.client.infer(target, request, seen);
  } catch (e) {
    deps.candidates?.record(deployment, answeringCandidate(seen.headers) ?? deployment, outcomeOfError(e), (performance.now() - started) / 1000);
    throw e;
  }
  const { response, headers } = answer;
  const route = answeringCandidate(headers) ?? (response.model_name !== target.model ? response.model_name : undefined);
  deps.candidates?.record(deployment, route ?? deployment, "success", (performance.now() - started) / 1000);
  const answered = route && route !== deployment ? ((await deps.backend.get(route)) ?? status) : status;
  // The registry version that answered (not the runtime's own model_version numbering): drift, log and result agree.
  const version = answeredVersion(answered, response.model_version);
  const predictions = await decodeOutputsPaced(response, info.labels);
  const classes = deps.drift || deps.inferenceLog ? predictedClasses(response, info.labels) : [];
  if (deps.drift && answered.model) observe(deps, answered.model, version ?? "", features, classes);
  if (deps.inferenceLog && requestId) {
    deps.inferenceLog.record({ requestId, deployment, model: answered.model, version, rows: await rowsOf(features, classes.length), predictions: classes, classes: info.labels });
  }
  return {
    deployment,
    model: answered.model,
    version,
    route,
    predictions,
    ...(single ? { prediction: predictions[0] } : {}),
    parsedAs: how,
    ...(input.kind === "v2" ? { response } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

/** Column-wise features back to one record per row, for the inference log (in chunks: a batch can be 10,000 rows). */
async function rowsOf(features: Record<string, number[]>, n: number): Promise<Record<string, unknown>[]> {
  const columns = Object.entries(features);
  const rows: Record<string, unknown>[] = [];
  await forEachPaced(Array.from({ length: n }, (_, r) => r), (r) => rows.push(Object.fromEntries(columns.map(([k, v]) => [k, v[r]]))));
  return rows;
}

/** Off the critical path: scheduled after the response, and a failing observer never reaches the caller. */
function observe(deps: InferDeps, model: string, version: string, features: Record<string, number[]>, predictions: (string | number)[]): void {
  const drift = deps.drift;
  if (!drift) return;
  setImmediate(() => {
    try {
      drift.observe({ model, version, features, predictions });
    } catch (e) {
      deps.log.warn("infer: drift observer failed", { message: e instanceof Error ? e.message : String(e) });
    }
  });
}
