// The UI's inference calls on the embedded platform, as the signed-in user: in-process and direct, each refused unless
// the user's role passes the rule the matching API route enforces (no platform-wide credential stands in for them).
import { AsyncLocalStorage } from "node:async_hooks";
import type { MiddlewareHandler } from "hono";
import { principalOf, roleAtLeast, type Principal } from "../auth/index.ts";
import { ForbiddenError, UnauthorizedError, UpstreamError, ValidationError, toHttpError } from "../errors.ts";
import { requiredRole, type Rule } from "./access.ts";
import type { V2Client } from "../../functions/infer/client.ts";

export interface UiInferenceOptions {
  readonly rules: readonly Rule[];
  /** Calls the V2 server with no credentials of its own (the embedded direct client). */
  readonly v2: V2Client;
  /** The infer function on a sentence, called directly (errors in the platform's taxonomy). */
  readonly inferText: (deployment: string, text: string) => Promise<{ predictions: unknown }>;
}

export interface UiInference {
  /** Remembers who made each UI request (a path the rule table leaves to the pages) for the calls below. */
  readonly middleware: MiddlewareHandler;
  readonly v2: V2Client;
  readonly inferText: (deployment: string, text: string) => Promise<{ predictions: unknown }>;
}

export function uiInference(o: UiInferenceOptions): UiInference {
  const callers = new AsyncLocalStorage<{ readonly principal: Principal | undefined }>();
  // API routes are not UI requests: they skip the store, so the hot inference path pays nothing for it.
  const middleware: MiddlewareHandler = (c, next) =>
    requiredRole(o.rules, c.req.method, c.req.path) === undefined ? callers.run({ principal: principalOf(c) }, next) : next();

  /** The same decision accessControl makes for `method path`, taken for the user of the UI request in progress. */
  const authorize = (method: string, path: string, what: string): void => {
    const need = requiredRole(o.rules, method, path);
    if (need === "public") return;
    // No UI request in progress means nobody to act for: refuse rather than call with no one's authority.
    const p = callers.getStore()?.principal;
    if (!p) throw new UnauthorizedError(`${what}: authentication required`);
    if (need === undefined || p.via === "job" || !roleAtLeast(p.role, need)) {
      throw new ForbiddenError(`${what} needs the ${need ?? "mlops-engineer"} role; you are ${p.via === "job" ? "a training job" : p.role}`);
    }
  };
  const model = (name: string): string => `/v2/models/${encodeURIComponent(name)}`;

  return {
    middleware,
    v2: {
      metadata(t) {
        authorize("GET", model(t.model), `reading the metadata of ${t.model}`);
        return o.v2.metadata(t);
      },
      infer(t, req, seen) {
        authorize("POST", `${model(t.model)}/infer`, `inference on ${t.model}`);
        return o.v2.infer(t, req, seen);
      },
    },
    async inferText(deployment, text) {
      authorize("POST", `/infer/${encodeURIComponent(deployment)}`, `inference on ${deployment}`);
      try {
        return await o.inferText(deployment, text);
      } catch (e) {
        // As POST /infer would answer it: the sentence is at fault only on a 4xx; a 5xx is the function's or the model's.
        const { status, body } = toHttpError(e);
        if (status >= 500) throw new UpstreamError(body.error, false, { status, cause: e });
        throw new ValidationError([{ field: "text", message: body.error }]);
      }
    },
  };
}
