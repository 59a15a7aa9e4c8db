// infer over HTTP: POST /:deployment (the platform mounts it at /infer). Records, CSV, raw V2 or natural language in,
// decoded predictions out. Errors are {error, code, issues?, expected?}; unknown deployments 404 with the list.
import { Hono, type Context } from "hono";
import { toHttpError } from "../../platform/errors.ts";
import { readLimited } from "../../platform/serving/v2/body.ts";
import { InputMismatchError } from "./build.ts";
import { inferDeployment } from "./core.ts";
import type { InferDeps } from "./deps.ts";
import { readInput, type InferInput } from "./input.ts";
import { ModelInfoCache } from "./model-info.ts";

export const MAX_INFER_BODY = 1024 * 1024;
export const REQUEST_ID_HEADER = "x-request-id";

export function errorResponse(c: Context, e: unknown, deps: Pick<InferDeps, "log">): Response {
  const { status, body } = toHttpError(e);
  if (status >= 500) deps.log.warn("infer failed", { message: e instanceof Error ? e.message : String(e) });
  const extra = e instanceof InputMismatchError ? { expected: e.expected } : {};
  return c.json({ ...body, ...extra }, status as 400);
}

const describe = (ct: string): string => {
  const t = ct.split(";")[0]?.trim().toLowerCase() ?? "";
  return t === "text/csv" ? "csv" : t === "text/plain" ? "text" : "json";
};

/** How the input was read, as answers name it (before the parser or the LLM reads a sentence). */
export function parsedAsOf(input: InferInput, ct: string): string {
  return input.kind === "v2" ? "v2" : input.kind === "text" ? "text" : describe(ct) === "csv" ? "csv" : input.single ? "record" : "records";
}

export function inferRoutes(deps: InferDeps): Hono {
  const app = new Hono();
  const cache = new ModelInfoCache();
  const max = deps.maxBodyBytes ?? MAX_INFER_BODY;
  app.post("/:deployment", async (c) => {
    // Every answer, errors included, carries the id; a V2 client's own `id` stays untouched in `response.id`.
    const requestId = deps.inferenceLog?.issue(c.req.param("deployment"));
    if (requestId) c.header(REQUEST_ID_HEADER, requestId);
    try {
      const ct = c.req.header("content-type") ?? "application/json";
      const input = await readInput(ct, await readLimited(c, max), deps.maxRows);
      return c.json(await inferDeployment(deps, cache, c.req.param("deployment"), input, parsedAsOf(input, ct), requestId));
    } catch (e) {
      return errorResponse(c, e, deps);
    }
  });
  return app;
}
