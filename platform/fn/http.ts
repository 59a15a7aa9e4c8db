// Knative glue for HTTP functions: serves a hono app through functions-framework's http() (express req/res).
import * as ff from "@google-cloud/functions-framework";
import type { Hono } from "hono";

/** The app is built on the first request (never at import time), so a bad config fails requests, not the import. */
export function registerHonoHttp(target: string, app: () => Hono | Promise<Hono>): void {
  let built: Promise<Hono> | undefined;
  ff.http(target, async (req, res) => {
    // A failed start (database or API server not reachable at a cold start) is retried on the next request instead
    // of being cached: a cached rejection answered 500 until the pod was replaced, while /readyz said ok.
    built ??= Promise.resolve()
      .then(app)
      .catch((e: unknown) => {
        built = undefined;
        throw e;
      });
    const h = await built;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === "string") headers.set(k, v);
      else if (Array.isArray(v)) headers.set(k, v.join(", "));
    }
    const method = req.method.toUpperCase();
    const body = method === "GET" || method === "HEAD" ? undefined : new Uint8Array(req.rawBody ?? Buffer.alloc(0));
    // `incoming` is what @hono/node-server passes too: getConnInfo reads the peer address from it.
    const response = await h.fetch(new Request(new URL(req.originalUrl || req.url, "http://function.local"), { method, headers, body }), { incoming: req });
    res.status(response.status);
    response.headers.forEach((v, k) => res.setHeader(k, v));
    res.send(Buffer.from(await response.arrayBuffer()));
  });
}
