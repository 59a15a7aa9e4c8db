// The fake MLflow's request routing: which paths exist under which methods, and the answers MLflow gives around its
// handlers, all as recorded: Flask's HTML 404 for an unknown path or API version (steps 3, 4, 13, 148, 305-307), its
// HTML 405 for a wrong method (5-7, 241), the Content-Type checks (309, 310), a JSON array body crashing into the HTML
// 500 page (311), `/health`, `/version` (0, 1), the /ajax-api mirror (12, 140, 147, 308) and the tracing API (297-304).
import { download, getArtifact, listProxy, listRun, remove, upload, checkPath } from "./artifacts.ts";
import { experimentRoutes } from "./experiments.ts";
import { modelRoutes } from "./models.ts";
import { MlflowFault, Params } from "./params.ts";
import { html, json, recordedPages, TraceStore, type Reply } from "./recorded.ts";
import { ajaxOnlySearchRoutes, runSearchRoutes } from "./run-search.ts";
import { ajaxOnlyRunRoutes, runRoutes } from "./runs.ts";
import { State } from "./state.ts";

type Handler = (p: Params, s: State) => unknown;
interface Route {
  readonly methods: readonly string[];
  readonly handle: Handler;
  readonly get?: Handler;
  readonly delete?: Handler;
}

const API: Record<string, Route> = { ...experimentRoutes, ...runRoutes, ...runSearchRoutes, ...modelRoutes, "artifacts/list": { methods: ["GET"], handle: listRun } };
const AJAX_ONLY: Record<string, Route> = { ...ajaxOnlyRunRoutes, ...ajaxOnlySearchRoutes };
const ARTIFACTS = /^\/(?:ajax-)?api\/2\.0\/mlflow-artifacts\/artifacts(?:\/(.*))?$/;
/** The version a real server answers on /version; a 3.x client only needs it to answer. */
export const MLFLOW_VERSION = "2.17.2";

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

const errorReply = (f: MlflowFault): Reply => json(f.status, { error_code: f.code, message: f.message });

export interface FakeApp {
  readonly state: State;
  answer(method: string, rawUrl: string, headers: Record<string, string | string[] | undefined>, body: Buffer): Reply;
}

export function createFakeApp(): FakeApp {
  const state = new State();
  const pages = recordedPages();
  const traces = new TraceStore();

  const route = (method: string, url: URL, rawPath: string, headers: Record<string, string | string[] | undefined>, body: Buffer): Reply => {
    const p = url.pathname;
    const parsed = parseJson(body.toString("utf8"));
    if (p === "/health") return html(200, "OK");
    if (p === "/version") return html(200, MLFLOW_VERSION);
    // MLflow sees the raw path: a `..` segment is refused, not resolved away (steps 201-203, 207).
    if (ARTIFACTS.test(rawPath) && decodeURIComponent(rawPath).split("/").includes("..")) return json(400, { error_code: "INVALID_PARAMETER_VALUE", message: "Invalid path" });
    const art = ARTIFACTS.exec(p);
    if (art) {
      const rel = art[1] === undefined ? undefined : checkPath(decodeURIComponent(art[1]));
      if (rel === undefined) return method === "GET" ? json(200, listProxy(Params.of(method, url.searchParams, parsed), state)) : html(405, pages[405]);
      if (method === "PUT") return (upload(state, rel, body), json(200, {}));
      if (method === "DELETE") return (remove(state, rel), json(200, {}));
      if (method !== "GET") return html(405, pages[405]);
      const d = download(state, rel);
      return d.html ? html(500, pages[500]) : d;
    }
    if (p === "/get-artifact") {
      const d = getArtifact(Params.of(method, url.searchParams, parsed), state);
      return d.html ? html(500, pages[500]) : d;
    }
    const api = /^\/(ajax-)?api\/2\.0\/mlflow\/(.+)$/.exec(p);
    if (!api) return html(404, pages[404]);
    const trace = traces.handle(method, p.replace(/^\/ajax-api/, "/api"), url.searchParams, parsed, (id) => state.experiments.has(id));
    if (trace) return trace;
    const name = api[2] ?? "";
    const r = API[name] ?? (api[1] ? AJAX_ONLY[name] : undefined);
    if (!r) return html(404, pages[404]);
    if (!r.methods.includes(method)) return html(405, pages[405]);
    if (method === "POST" || method === "PUT") {
      const ct = headers["content-type"];
      if (ct === undefined) return json(400, { error_code: "INVALID_PARAMETER_VALUE", message: "Bad Request. Content-Type header is missing." });
      if (String(ct).split(";")[0]?.trim().toLowerCase() !== "application/json") {
        return json(400, { error_code: "INVALID_PARAMETER_VALUE", message: "Bad Request. Content-Type must be one of ['application/json']." });
      }
    }
    if (method !== "GET" && Array.isArray(parsed)) return html(500, pages[500]);
    const handler = (method === "GET" && r.get) || (method === "DELETE" && r.delete) || r.handle;
    return json(200, handler(Params.of(method, url.searchParams, parsed), state));
  };

  return {
    state,
    answer(method, rawUrl, headers, body) {
      const url = new URL(rawUrl, "http://fake");
      try {
        return route(method, url, rawUrl.split("?")[0] ?? "/", headers, body);
      } catch (e) {
        if (e instanceof MlflowFault) return errorReply(e);
        // An unexpected failure is what Flask answers for a crashed handler.
        return html(500, pages[500]);
      }
    },
  };
}
