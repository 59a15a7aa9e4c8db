// MLflow's server outside /api/2.0: /health, /version, /ajax-api/2.0, /get-artifact, wrong methods, unknown API versions.
import fs from "node:fs";
import path from "node:path";
import type { Context, Hono } from "hono";
import { errorResponse, type Handle } from "./app.ts";
import { contentTypeOf } from "./artifacts.ts";
import { invalid, MlflowApiError, notFound } from "./errors.ts";
import { listingDir, type ArtifactRoots } from "./locations.ts";
import { checkRelative } from "./paths.ts";
import { incomingOf } from "./request.ts";
import { runRow } from "./runs.ts";
import { col, type Db } from "./store.ts";
import type { Logger } from "../log.ts";

/**
 * The MLflow REST contract this server implements (mlflow-golden/mlflow-2.17.2). MLflow 3.x clients read /version to
 * decide which APIs to call; Flywheel answers the 2.x generation it is checked against.
 */
export const MLFLOW_API_VERSION = "2.17.2";

/** MLflow's Flask answers /health and /version as text/html. */
const HTML = { "content-type": "text/html; charset=utf-8" };

export function registerRootRoutes(app: Hono, db: Db, roots: ArtifactRoots, log: Logger): void {
  app.get("/health", (c) => c.body("OK", 200, HTML));
  app.get("/version", (c) => c.body(MLFLOW_API_VERSION, 200, HTML));

  // The UI's artifact download: a file under a run's artifact root.
  app.get("/get-artifact", (c) => {
    try {
      const runId = c.req.query("run_uuid") ?? c.req.query("run_id") ?? "";
      if (!runId) throw invalid("Missing value for required parameter 'run_uuid'.");
      const rel = checkRelative(c.req.query("path") ?? "");
      const uri = col.str(runRow(db, runId), "artifact_uri");
      // Confined to the artifact roots at use, as every other artifact read.
      const file = listingDir(roots, uri, rel);
      if (!file) throw invalid(`Artifacts of run ${runId} are not stored by this server (${uri})`);
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (!st || st.isDirectory()) throw notFound(`File ${rel} not found`);
      return c.body(fs.readFileSync(file), 200, { "content-type": contentTypeOf(file), "content-disposition": `attachment; filename="${path.basename(file).replace(/"/g, "")}"` });
    } catch (e) {
      return errorResponse(c, e, log);
    }
  });
}

/** 400 "Invalid path" for a raw `..` segment in an artifact URL, which URL parsing would otherwise resolve away. */
export async function rawTraversalGuard(c: Context, next: () => Promise<void>): Promise<Response | void> {
  const raw = incomingOf(c)?.url;
  if (raw && raw.includes("/mlflow-artifacts/")) {
    const p = raw.split("?")[0] ?? "";
    let segments: string[];
    try {
      segments = decodeURIComponent(p).split(/[/\\]/);
    } catch {
      segments = [".."];
    }
    if (segments.includes("..")) return c.json(invalid("Invalid path").toBody(), 400);
  }
  await next();
}

/** A path MLflow serves under another method answers 405 (MLflow's HTML page becomes MLflow's JSON error shape). */
export function methodNotAllowedOr404(routes: Hono) {
  const patterns = routes.routes
    .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
    .map((r) => ({ method: r.method, re: new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/]+")}$`) }));
  return (c: Context): Response => {
    const p = c.req.path.replace(/^\/(ajax-)?api\/2\.0/, "");
    const other = patterns.some((x) => x.re.test(p) && x.method !== c.req.method);
    if (other) {
      return c.json(new MlflowApiError("BAD_REQUEST", `The method ${c.req.method} is not allowed for ${c.req.path}`).toBody(), 405);
    }
    return c.json({ error_code: "ENDPOINT_NOT_FOUND", message: `No API endpoint found for ${c.req.method} ${c.req.path}` }, 404);
  };
}

/** The ajax-only reads the MLflow UI uses: metrics/get-history-bulk and experiments/search-datasets. */
export function registerAjaxOnly(app: Hono, handle: Handle, db: Db): void {
  handle(app, "GET", "/mlflow/metrics/get-history-bulk", (m) => {
    const ids = m.strList("run_id");
    if (ids.length === 0) throw invalid("GetMetricHistoryBulk request must specify at least one run_id.");
    const key = m.reqStr("metric_key");
    const metrics = ids.flatMap((id) =>
      db.prepare("SELECT * FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp, seq").all(id, key).map((r) => {
        const row = r as Record<string, unknown>;
        return { key, run_id: id, step: col.num(row, "step"), timestamp: col.num(row, "timestamp"), value: col.num(row, "is_nan") ? "NaN" : col.num(row, "value") };
      }),
    );
    return metrics.length ? { metrics } : {};
  });

  handle(app, "POST", "/mlflow/experiments/search-datasets", (m) => {
    const ids = m.strList("experiment_ids");
    const seen = new Set<string>();
    const out: Record<string, unknown>[] = [];
    for (const id of ids) {
      const rows = db.prepare("SELECT i.payload FROM run_inputs i JOIN runs r ON r.run_uuid = i.run_uuid WHERE r.experiment_id = ? AND i.kind = 'dataset' ORDER BY i.seq").all(Number(id));
      for (const r of rows) {
        const payload: unknown = JSON.parse(col.str(r as Record<string, unknown>, "payload"));
        const summary = datasetSummary(id, payload);
        const k = JSON.stringify(summary);
        if (!seen.has(k)) {
          seen.add(k);
          out.push(summary);
        }
      }
    }
    return out.length ? { dataset_summaries: out } : {};
  });
}

function datasetSummary(experimentId: string, input: unknown): Record<string, unknown> {
  const o = typeof input === "object" && input !== null ? input : {};
  const ds: unknown = "dataset" in o ? o.dataset : {};
  const d = typeof ds === "object" && ds !== null ? ds : {};
  const name = "name" in d ? String(d.name) : "";
  const digest = "digest" in d ? String(d.digest) : "";
  const tags: unknown = "tags" in o ? o.tags : [];
  const context = Array.isArray(tags)
    ? tags.find((t: unknown): t is { key: string; value: string } => typeof t === "object" && t !== null && "key" in t && t.key === "mlflow.data.context")?.value
    : undefined;
  return context === undefined ? { experiment_id: experimentId, name, digest } : { experiment_id: experimentId, name, digest, context };
}
