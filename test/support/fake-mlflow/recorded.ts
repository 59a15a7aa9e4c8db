// Answers of a real MLflow 2.17.2 server taken from the recorded transcript (test/fixtures/mlflow-golden): Flask's HTML
// error pages byte for byte, and the 2.x tracing API (steps 297-304) in memory.
import { randomBytes } from "node:crypto";
import { GOLDEN_FILE, loadGolden } from "../mlflow-replay.ts";

/** Flask's HTML pages, byte for byte as recorded. */
export function recordedPages(file = GOLDEN_FILE): Record<404 | 405 | 500, string> {
  const steps = loadGolden(file);
  const page = (status: number): string => {
    const s = steps.find((x) => x.status === status && x.content_type === "text/html" && x.response_text);
    if (!s?.response_text) throw new Error(`${file}: no recorded HTML ${status} page`);
    return s.response_text;
  };
  return { 404: page(404), 405: page(405), 500: page(500) };
}

export interface Reply {
  readonly status: number;
  readonly contentType: string;
  /** Bytes, not text: downloaded artifacts (model.onnx) are binary. */
  readonly body: string | Buffer;
}

export const json = (status: number, body: unknown): Reply => ({ status, contentType: "application/json", body: JSON.stringify(body) });
export const html = (status: number, body: string): Reply => ({ status, contentType: "text/html; charset=utf-8", body });

interface KV {
  key: string;
  value: string;
}
interface Trace {
  request_id: string;
  experiment_id: string;
  timestamp_ms: number;
  execution_time_ms: number;
  status: string;
  request_metadata: KV[];
  tags: KV[];
}

const kvList = (v: unknown): KV[] =>
  Array.isArray(v) ? v.flatMap((x: unknown) => (x && typeof x === "object" && "key" in x ? [{ key: String(x.key), value: "value" in x ? String(x.value) : "" }] : [])) : [];
const field = (o: unknown, k: string): unknown => (o && typeof o === "object" ? Object.fromEntries(Object.entries(o))[k] : undefined);

/** The MLflow 2.x tracing API (POST/GET/PATCH /api/2.0/mlflow/traces...), in memory, as the transcript shows it. */
export class TraceStore {
  private readonly traces = new Map<string, Trace>();

  handle(method: string, p: string, query: URLSearchParams, body: unknown, experimentExists: (id: string) => boolean): Reply | undefined {
    const m = /^\/api\/2\.0\/mlflow\/traces(?:\/([^/]+))?(?:\/(info|tags))?$/.exec(p);
    if (!m) return undefined;
    const [, id, sub] = m;
    if (!id && method === "POST") {
      const exp = String(field(body, "experiment_id") ?? "");
      if (!experimentExists(exp)) return json(404, { error_code: "RESOURCE_DOES_NOT_EXIST", message: `No Experiment with id=${exp} exists` });
      const requestId = `tr-${randomBytes(16).toString("hex")}`;
      const t: Trace = {
        request_id: requestId, experiment_id: exp, timestamp_ms: Number(field(body, "timestamp_ms") ?? Date.now()), execution_time_ms: 0,
        status: "IN_PROGRESS", request_metadata: kvList(field(body, "request_metadata")),
        tags: [...kvList(field(body, "tags")), { key: "mlflow.artifactLocation", value: `mlflow-artifacts:/${exp}/traces/${requestId}/artifacts` }],
      };
      this.traces.set(requestId, t);
      return json(200, { trace_info: t });
    }
    if (!id && method === "GET") {
      const ids = query.getAll("experiment_ids");
      const list = [...this.traces.values()].filter((t) => ids.includes(t.experiment_id)).sort((a, b) => b.timestamp_ms - a.timestamp_ms);
      return json(200, list.length ? { traces: list } : {});
    }
    if (id === "delete-traces" && method === "POST") {
      const ids = field(body, "request_ids");
      let n = 0;
      for (const r of Array.isArray(ids) ? ids : []) if (this.traces.delete(String(r))) n++;
      return json(200, { traces_deleted: n });
    }
    const t = id ? this.traces.get(id) : undefined;
    if (!t) return json(404, { error_code: "RESOURCE_DOES_NOT_EXIST", message: `Trace with request_id '${id ?? ""}' not found.` });
    if (sub === "info" && method === "GET") return json(200, { trace_info: t });
    if (!sub && method === "PATCH") {
      const end = Number(field(body, "timestamp_ms") ?? t.timestamp_ms);
      t.execution_time_ms = end - t.timestamp_ms;
      t.status = String(field(body, "status") ?? t.status);
      t.request_metadata.push(...kvList(field(body, "request_metadata")));
      t.tags.push(...kvList(field(body, "tags")));
      return json(200, { trace_info: t });
    }
    if (sub === "tags" && (method === "PATCH" || method === "DELETE")) {
      const key = String(field(body, "key") ?? "");
      t.tags = t.tags.filter((x) => x.key !== key);
      if (method === "PATCH") t.tags.push({ key, value: String(field(body, "value") ?? "") });
      return json(200, {});
    }
    return undefined;
  }
}
