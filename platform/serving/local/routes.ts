// Open Inference Protocol REST routes (interfaces.md §3), relative to the /v2 mount point.
import { Hono, type Context } from "hono";
import { NotFoundError, ValidationError, isKnownError } from "../../errors.ts";
import { zodIssues } from "../../events/envelope.ts";
import { readLimited } from "../v2/body.ts";
import { InferRequestSchema } from "../v2/types.ts";
import { routeHeadersOf, type EmbeddedV2Server } from "./server.ts";

export const MAX_INFER_BYTES = 16 * 1024 * 1024;

/** V2 errors are `{"error": "..."}` with a 4xx/5xx status; internal messages never leak. */
function fail(c: Context, e: unknown): Response {
  for (const [k, v] of Object.entries(routeHeadersOf(e))) c.header(k, v);
  if (isKnownError(e)) return c.json({ error: e.message }, e.status as 400);
  return c.json({ error: "internal error" }, 500);
}

/** Routes for the embedded server; the platform mounts them at /v2. */
export function v2Routes(server: EmbeddedV2Server): Hono {
  const app = new Hono();
  app.get("/health/live", (c) => c.json({ live: true }));
  app.get("/health/ready", (c) => c.json({ ready: true }));
  app.get("/", (c) => c.json(server.metadata()));

  const metadata = (c: Context): Response => {
    try {
      return c.json(server.modelMetadata(c.req.param("name") ?? "", c.req.param("version")));
    } catch (e) {
      return fail(c, e);
    }
  };
  const ready = (c: Context): Response => {
    const name = c.req.param("name") ?? "";
    const version = c.req.param("version");
    if (!server.exists(name, version)) return fail(c, new NotFoundError(`model ${name}${version ? ` version ${version}` : ""} not found`));
    return server.isReady(name, version) ? c.json({ name, ready: true }) : c.json({ name, ready: false }, 503);
  };
  const infer = async (c: Context): Promise<Response> => {
    try {
      const name = c.req.param("name") ?? "";
      const version = c.req.param("version");
      const text = await readLimited(c, MAX_INFER_BYTES);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ValidationError([{ field: "body", message: "is not valid JSON" }]);
      }
      const parsed = InferRequestSchema.safeParse(body);
      if (!parsed.success) throw new ValidationError(zodIssues(parsed.error));
      const headers = Object.fromEntries(c.req.raw.headers);
      const { response, headers: extra } = await server.infer(name, version, parsed.data, headers);
      for (const [k, v] of Object.entries(extra)) c.header(k, v);
      return c.json(response);
    } catch (e) {
      return fail(c, e);
    }
  };
  app.get("/models/:name", metadata);
  app.get("/models/:name/versions/:version", metadata);
  app.get("/models/:name/ready", ready);
  app.get("/models/:name/versions/:version/ready", ready);
  app.post("/models/:name/infer", infer);
  app.post("/models/:name/versions/:version/infer", infer);
  return app;
}
