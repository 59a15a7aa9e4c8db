// Open Inference Protocol REST routes (interfaces.md §3), relative to the /v2 mount point.
import { Hono, type Context } from "hono";
import { NotFoundError, ValidationError, isKnownError } from "../../errors.ts";
import { zodIssues } from "../../events/envelope.ts";
import { readLimited } from "../v2/body.ts";
import { plainInferRequest } from "../v2/fast.ts";
import { InferRequestSchema, type InferRequest } from "../v2/types.ts";
import { routeHeadersOf, type EmbeddedV2Server } from "./server.ts";

export const MAX_INFER_BYTES = 16 * 1024 * 1024;

/** The V2 error answer for a failure: status, `{"error": "..."}` body and route headers; internal messages never leak. */
export function v2Failure(e: unknown): { status: number; body: { error: string }; headers: Record<string, string> } {
  const headers = routeHeadersOf(e);
  if (isKnownError(e)) return { status: e.status, body: { error: e.message }, headers };
  return { status: 500, body: { error: "internal error" }, headers };
}

/** The general path: any body the schema accepts, and a 400 naming the fields for the rest. */
export function parseInferRequest(body: unknown): InferRequest {
  const parsed = InferRequestSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error));
  return parsed.data;
}

function fail(c: Context, e: unknown): Response {
  const { status, body, headers } = v2Failure(e);
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  return c.json(body, status as 400);
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
      const req = plainInferRequest(body) ?? parseInferRequest(body);
      // Building the headers object costs as much as parsing the body: only composites (sticky routing) read it.
      const headers = server.readsHeaders(name, version) ? Object.fromEntries(c.req.raw.headers) : {};
      const { response, headers: extra } = await server.infer(name, version, req, headers);
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
