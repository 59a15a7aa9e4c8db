// A V2 (Open Inference Protocol) REST client over an injectable fetch: in embedded mode the platform passes a fetch
// that calls its own hono app in-process; in Knative mode a fetch over node:http reaches Seldon or KServe (the global
// fetch's first call would load undici on infer's first request: platform/http/fetch.ts).
import { NotFoundError, UpstreamError, ValidationError } from "../../platform/errors.ts";
import { nodeFetch } from "../../platform/http/fetch.ts";
import type { InferenceTarget } from "../../platform/ports.ts";
import type { InferRequest, InferResponse, ModelMetadata } from "../../platform/serving/v2/types.ts";

export interface V2Client {
  metadata(target: InferenceTarget): Promise<ModelMetadata>;
  /** `seen.headers` receives the response headers even when the call fails (which candidate answered an error). */
  infer(target: InferenceTarget, req: InferRequest, seen?: { headers?: Record<string, string> }): Promise<{ response: InferResponse; headers: Record<string, string> }>;
}

const base = (t: InferenceTarget): string => t.url.replace(/\/$/, "");

/** The protocol's own {"error": "..."} message (short), never the raw body. */
async function v2Error(res: Response): Promise<string> {
  const body: unknown = await res.json().catch(() => undefined);
  const msg = body && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
  return typeof msg === "string" ? msg.slice(0, 500) : `HTTP ${res.status}`;
}

/** The error infer raises for a V2 error answer: 404 stays 404, other 4xx are the caller's input, the rest upstream. */
export function v2StatusError(status: number, message: string, what: string): Error {
  if (status === 404) return new NotFoundError(`${what}: ${message}`);
  if (status >= 400 && status < 500) return new ValidationError([{ field: "inputs", message }], `${what}: ${message}`);
  return new UpstreamError(`${what}: inference server answered ${status}`, status >= 500, { status: 502 });
}

/** Just what the client calls: global fetch fits, nodeFetch (the default), and a hono app's `request` (in-process, no socket). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response> | Response;

export function httpV2Client(doFetch: FetchLike = nodeFetch, timeoutMs = 30_000): V2Client {
  const call = async (url: string, init: RequestInit, what: string, seen?: { headers?: Record<string, string> }): Promise<Response> => {
    let res: Response;
    try {
      res = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new UpstreamError(`${what}: inference server unreachable`, true, { cause: e });
    }
    if (seen) {
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => (headers[k] = v));
      seen.headers = headers;
    }
    if (res.ok) return res;
    throw v2StatusError(res.status, await v2Error(res), what);
  };
  return {
    async metadata(t) {
      const res = await call(t.metadataUrl ?? `${base(t)}/v2/models/${encodeURIComponent(t.model)}`, { headers: { ...t.headers } }, `metadata of ${t.model}`);
      return (await res.json()) as ModelMetadata;
    },
    async infer(t, req, seen) {
      const res = await call(
        `${base(t)}${t.inferPath ?? `/v2/models/${encodeURIComponent(t.model)}/infer`}`,
        { method: "POST", headers: { "content-type": "application/json", ...t.headers }, body: JSON.stringify(req) },
        `inference on ${t.model}`,
        seen,
      );
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => (headers[k] = v));
      return { response: (await res.json()) as InferResponse, headers };
    },
  };
}
