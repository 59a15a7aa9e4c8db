// Who may call what on the one port: the role each API route needs, enforced on the server (UI pages gate themselves).
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { JOB_TOKEN_SCOPE, principalOf, type Auth, type Role } from "../auth/index.ts";

export interface Rule {
  readonly prefix: string;
  /** undefined = every method */
  readonly methods?: readonly string[];
  readonly role: Role | "public";
}

const READ = ["GET", "HEAD", "OPTIONS"];
const WRITE = ["POST", "PUT", "PATCH", "DELETE"];

/** First match wins. Paths not listed here (the UI) are gated by the pages themselves. */
export function accessRules(opts: { protectInference: boolean }): readonly Rule[] {
  const inference: Role | "public" = opts.protectInference ? "data-scientist" : "public";
  return [
    { prefix: "/healthz", role: "public" },
    { prefix: "/readyz", role: "public" },
    { prefix: "/metrics", role: "public" },
    // The Alertmanager webhook checks its own bearer token (the one Alertmanager's credentials_file holds).
    { prefix: "/hooks/alertmanager", role: "public" },
    { prefix: "/v2", methods: READ, role: opts.protectInference ? "viewer" : "public" },
    { prefix: "/v2", role: inference },
    { prefix: "/infer", role: opts.protectInference ? "data-scientist" : "public" },
    // Labels become training data: only people allowed to train may send them.
    { prefix: "/feedback", role: "data-scientist" },
    // Sampled production inputs: reading or deleting them is a data-scientist's call.
    { prefix: "/api/v1/inference-logs", role: "data-scientist" },
    // Posting arbitrary events can start trainings and deployments.
    { prefix: "/events", role: "mlops-engineer" },
    { prefix: "/api/2.0", methods: READ, role: "viewer" },
    // MLflow clients in training code log runs, metrics and models.
    { prefix: "/api/2.0", methods: WRITE, role: "data-scientist" },
    // The same MLflow API under the prefix MLflow's UI uses, and MLflow's probes and UI artifact download.
    { prefix: "/ajax-api/2.0", methods: READ, role: "viewer" },
    { prefix: "/ajax-api/2.0", methods: WRITE, role: "data-scientist" },
    { prefix: "/health", methods: READ, role: "public" },
    { prefix: "/version", methods: READ, role: "public" },
    { prefix: "/get-artifact", methods: READ, role: "viewer" },
    { prefix: "/api/v1/jobs", methods: READ, role: "viewer" },
    { prefix: "/api/v1/jobs", methods: WRITE, role: "data-scientist" },
    { prefix: "/api/v1/deployments", methods: READ, role: "viewer" },
    { prefix: "/api/v1/deployments", methods: WRITE, role: "mlops-engineer" },
    { prefix: "/api/v1/dead-letters", methods: WRITE, role: "mlops-engineer" },
    { prefix: "/api/v1/schedules", methods: WRITE, role: "mlops-engineer" },
    { prefix: "/api/v1", methods: READ, role: "viewer" },
    { prefix: "/api/v1", role: "mlops-engineer" },
  ];
}

export function requiredRole(rules: readonly Rule[], method: string, path: string): Role | "public" | undefined {
  for (const r of rules) {
    const under = path === r.prefix || path.startsWith(r.prefix + "/") || path.startsWith(r.prefix + "?");
    if (under && (!r.methods || r.methods.includes(method))) return r.role;
  }
  return undefined;
}

/** Applies the table: public routes pass, listed ones need their role, unlisted ones (UI) are left to the pages. */
export function accessControl(auth: Auth, rules: readonly Rule[]): MiddlewareHandler {
  const guards = new Map<Role, MiddlewareHandler>();
  return async (c, next) => {
    const role = requiredRole(rules, c.req.method, c.req.path);
    if (role === "public") return next();
    // A job's token reaches the registry API only: never /api/v1, /events or the UI, whatever its role would allow.
    if (principalOf(c)?.via === "job" && !c.req.path.startsWith(JOB_TOKEN_SCOPE)) {
      return c.json({ error: `a training job's token only reaches the registry API (${JOB_TOKEN_SCOPE})`, code: "PERMISSION_DENIED" }, 403);
    }
    if (role === undefined) return next();
    let guard = guards.get(role);
    if (!guard) {
      guard = auth.requireRole(role);
      guards.set(role, guard);
    }
    return guard(c, next);
  };
}

/** A login form or a CSRF token fits in this; an anonymous caller gets no more before it is known. */
export const ANONYMOUS_BODY_LIMIT = 8 * 1024;

/**
 * 413 for an anonymous body over ANONYMOUS_BODY_LIMIT, before anything parses it (the CSRF check and /login read
 * forms): a stranger could otherwise make the server parse 20 MB to answer 401. Public routes (inference, the
 * Alertmanager hook) keep their own, larger limits; signed-in callers keep the per-route ones.
 */
export function anonymousBodyLimit(rules: readonly Rule[], maxBytes = ANONYMOUS_BODY_LIMIT): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) => c.json({ error: `a request body without credentials may be at most ${maxBytes} bytes`, code: "PAYLOAD_TOO_LARGE" }, 413),
  });
  return async (c, next) => {
    if (!WRITE.includes(c.req.method) || principalOf(c) || requiredRole(rules, c.req.method, c.req.path) === "public") return next();
    return limit(c, next);
  };
}
