// MLflow's key/value size limits and log-batch limits (mlflow/utils/validation.py).
import { invalid } from "./errors.ts";

export const LIMITS = {
  maxEntitiesPerBatch: 1000,
  maxMetricsPerBatch: 1000,
  maxParamsPerBatch: 100,
  maxTagsPerBatch: 100,
  maxKeyLength: 250,
  maxParamValueLength: 6000,
  maxTagValueLength: 8000,
} as const;

const KEY_RE = /^[/\w.\- :]*$/;

export function validateKey(kind: string, key: string): void {
  if (!key) throw invalid(`Missing value for required parameter 'key'.`);
  if (key.length > LIMITS.maxKeyLength) {
    throw invalid(`${kind} key '${key.slice(0, 40)}...' had length ${key.length}, which exceeded length limit of ${LIMITS.maxKeyLength}`);
  }
  if (!KEY_RE.test(key)) {
    throw invalid(`Invalid ${kind.toLowerCase()} name: '${key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`);
  }
  if (key.split("/").some((seg) => seg === "..") || key.startsWith("/")) {
    throw invalid(`Invalid ${kind.toLowerCase()} name: '${key}'. Names cannot resolve to a path outside of the run.`);
  }
}

export function validateParam(key: string, value: string): void {
  validateKey("Param", key);
  if (value.length > LIMITS.maxParamValueLength) {
    throw invalid(`Param value '${value.slice(0, 40)}...' had length ${value.length}, which exceeded length limit of ${LIMITS.maxParamValueLength}`);
  }
}

export function validateTag(key: string, value: string): void {
  validateKey("Tag", key);
  if (value.length > LIMITS.maxTagValueLength) {
    throw invalid(`Tag value '${value.slice(0, 40)}...' had length ${value.length}, which exceeded length limit of ${LIMITS.maxTagValueLength}`);
  }
}

export function validateBatch(metrics: number, params: number, tags: number): void {
  const total = metrics + params + tags;
  if (total > LIMITS.maxEntitiesPerBatch) {
    throw invalid(`A batch logging request can contain at most ${LIMITS.maxEntitiesPerBatch} metrics, params, and tags. Got ${total} total.`);
  }
  if (metrics > LIMITS.maxMetricsPerBatch) {
    throw invalid(`A batch logging request can contain at most ${LIMITS.maxMetricsPerBatch} metrics. Got ${metrics} metrics. Please split up metrics across multiple requests and try again.`);
  }
  if (params > LIMITS.maxParamsPerBatch) {
    throw invalid(`A batch logging request can contain at most ${LIMITS.maxParamsPerBatch} params. Got ${params} params. Please split up params across multiple requests and try again.`);
  }
  if (tags > LIMITS.maxTagsPerBatch) {
    throw invalid(`A batch logging request can contain at most ${LIMITS.maxTagsPerBatch} tags. Got ${tags} tags. Please split up tags across multiple requests and try again.`);
  }
}
