// External MLflow mode: in place of the embedded registry, MLflow's paths answer 404 in MLflow's error shape, naming the
// external tracking server, so a client pointed at Flywheel by mistake learns where the registry is.
import { Hono } from "hono";
import { redact } from "../mlflow/transport.ts";
import type { RegistryServer } from "./index.ts";

export function externalRegistryStub(trackingUri: string): RegistryServer {
  const where = redact(trackingUri);
  const answer = (c: { req: { method: string; path: string }; json: (b: unknown, s: 404) => Response }): Response =>
    c.json(
      {
        error_code: "ENDPOINT_NOT_FOUND",
        message: `No API endpoint found for ${c.req.method} ${c.req.path}: this Flywheel uses the external MLflow tracking server at ${where} (MLFLOW_TRACKING_URI)`,
      },
      404,
    );
  const routes = new Hono();
  routes.all("/mlflow/*", answer);
  routes.all("/mlflow-artifacts/*", answer);
  const app = new Hono();
  for (const prefix of ["/api/2.0", "/ajax-api/2.0"]) app.route(prefix, routes);
  app.all("/get-artifact", answer);
  return { routes, app, artifactRoot: "", localArtifactRoots: [], close: () => undefined };
}
