// The embedded MLflow-compatible registry server: mount `routes` at /api/2.0 (paths inside are /mlflow/... and /mlflow-artifacts/...).
import path from "node:path";
import { Hono } from "hono";
import type { Logger } from "../log.ts";
import { registerAliases } from "./aliases.ts";
import { endpointNotFound, makeHandle } from "./app.ts";
import { registerArtifacts } from "./artifacts.ts";
import { registerExperiments } from "./experiments.ts";
import type { ArtifactRoots } from "./locations.ts";
import { registerLoggedModels } from "./logged-models.ts";
import { registerMetrics } from "./metrics.ts";
import { registerModels } from "./models.ts";
import { registerRuns } from "./runs.ts";
import { openStore } from "./store.ts";
import { registerVersions } from "./versions.ts";
import { methodNotAllowedOr404, rawTraversalGuard, registerAjaxOnly, registerRootRoutes } from "./root.ts";

export { MlflowApiError, MLFLOW_ERROR_STATUS, type MlflowErrorCode } from "./errors.ts";
export { LIMITS } from "./limits.ts";

/** Where the lead mounts `routes`. */
export const REGISTRY_MOUNT_PATH = "/api/2.0";

export interface RegistryServerOptions {
  /** State lives here: registry.sqlite and artifacts/. */
  readonly dataDir: string;
  readonly log: Logger;
  /** Public base URL of this process, for run links; optional. */
  readonly publicUrl?: string | undefined;
  /** Injected clock (epoch ms), for tests. */
  readonly now?: () => number;
  /** Absolute directories, besides <dataDir>/artifacts, that local (file:) artifact locations may point into. */
  readonly extraArtifactRoots?: readonly string[] | undefined;
}

export interface RegistryServer {
  /** The /api/2.0 routes alone (paths inside are /mlflow/... and /mlflow-artifacts/...). */
  readonly routes: Hono;
  /**
   * Everything MLflow's server answers, to mount at "/": /api/2.0, /ajax-api/2.0, /health, /version, /get-artifact, and
   * MLflow's error shape for unknown API versions. Served by @hono/node-server, it also sees raw paths and GET bodies.
   */
  readonly app: Hono;
  /** Directory holding proxied artifacts (mlflow-artifacts:/<path> -> <artifactRoot>/<path>). */
  readonly artifactRoot: string;
  /** Every directory a local artifact location or model source may resolve into (artifactRoot first). */
  readonly localArtifactRoots: readonly string[];
  close(): void;
}

export function createRegistryServer(opts: RegistryServerOptions): RegistryServer {
  const db = openStore(opts.dataDir);
  const artifactRoot = path.resolve(opts.dataDir, "artifacts");
  const roots: ArtifactRoots = { proxy: artifactRoot, local: [artifactRoot, ...(opts.extraArtifactRoots ?? []).map((r) => path.resolve(r))] };
  const now = opts.now ?? Date.now;
  const handle = makeHandle(opts.log);
  const routes = new Hono();
  registerExperiments(routes, handle, db, roots, now);
  registerRuns(routes, handle, db, now);
  registerMetrics(routes, handle, db);
  registerModels(routes, handle, db, now);
  registerVersions(routes, handle, db, roots, now);
  registerAliases(routes, handle, db, now);
  registerLoggedModels(routes, handle, db, roots, now);
  registerArtifacts(routes, handle, db, roots, opts.log);
  const ajax = new Hono();
  registerAjaxOnly(ajax, handle, db);
  ajax.route("/", routes);
  const fallback = methodNotAllowedOr404(ajax);
  routes.all("/mlflow/*", fallback);
  routes.all("/mlflow-artifacts/*", fallback);
  routes.notFound(endpointNotFound);
  ajax.all("/mlflow/*", fallback);
  ajax.all("/mlflow-artifacts/*", fallback);

  const app = new Hono();
  app.use("*", rawTraversalGuard);
  registerRootRoutes(app, db, roots, opts.log);
  app.route(REGISTRY_MOUNT_PATH, routes);
  app.route("/ajax-api/2.0", ajax);
  // MLflow 2.17 has no other API versions; answer in its error shape rather than the platform's.
  app.all("/api/:version/mlflow/*", endpointNotFound);
  app.all("/api/:version/mlflow-artifacts/*", endpointNotFound);
  app.all("/ajax-api/:version/*", endpointNotFound);
  return {
    routes,
    app,
    artifactRoot,
    localArtifactRoots: roots.local,
    close: () => {
      if (db.open) db.close();
    },
  };
}
