// Liveness, readiness and metrics for the one port: /healthz, /readyz, /metrics (surface.md).
import { Hono } from "hono";
import type { Registry } from "prom-client";

export interface HealthCheck {
  readonly name: string;
  /** true when ready; a string explains why not. */
  check(): Promise<true | string> | true | string;
}

export async function runChecks(checks: readonly HealthCheck[]): Promise<{ name: string; ok: boolean; detail?: string }[]> {
  return Promise.all(
    checks.map(async (c) => {
      try {
        const r = await Promise.race([
          Promise.resolve(c.check()),
          new Promise<string>((resolve) => setTimeout(() => resolve("check timed out"), 2000).unref()),
        ]);
        return r === true ? { name: c.name, ok: true } : { name: c.name, ok: false, detail: r };
      } catch (e) {
        return { name: c.name, ok: false, detail: e instanceof Error ? e.message : "check failed" };
      }
    }),
  );
}

export function healthRoutes(checks: () => readonly HealthCheck[], registries: () => readonly Registry[]): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const results = await runChecks(checks());
    const ready = results.every((r) => r.ok);
    return c.json({ status: ready ? "ready" : "not ready", components: results }, ready ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    // Several components may own registries; Prometheus wants one exposition.
    const { Registry: R } = await import("prom-client");
    const merged = R.merge([...registries()]);
    return c.body(await merged.metrics(), 200, { "content-type": merged.contentType });
  });
  return app;
}
