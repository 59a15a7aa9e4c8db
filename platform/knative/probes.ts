// The Knative entry's probes: /healthz (the process serves) and /readyz (it can do its work: database reachable, not draining).
import pg from "pg";
import type { HealthCheck } from "../app/health.ts";
import type { Config } from "../config/index.ts";

export interface Probes {
  readonly checks: readonly HealthCheck[];
  /** From SIGTERM on, /readyz fails, so nothing new is routed here while the requests in flight finish. */
  drain(): void;
  close(): Promise<void>;
}

/**
 * A function given FLYWHEEL_DATABASE_URL cannot decide anything without its StateStore, so it is not ready while
 * PostgreSQL is unreachable (a failover, a restart) and ready again as soon as it answers. The probe has its own
 * one-connection pool, so a function whose pool is busy with long transactions still answers in time.
 */
export function knativeProbes(config: Pick<Config, "state">): Probes {
  let draining = false;
  const checks: HealthCheck[] = [{ name: "draining", check: () => (draining ? "draining after SIGTERM" : true) }];
  let pool: pg.Pool | undefined;
  const url = config.state.databaseUrl;
  if (url) {
    pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 1500, idleTimeoutMillis: 10_000 });
    // A dropped idle connection is replaced on the next probe; unhandled, the pool's 'error' would end the process.
    pool.on("error", () => undefined);
    const probePool = pool;
    checks.push({
      name: "database",
      check: async () => {
        try {
          await probePool.query("select 1");
          return true;
        } catch (e) {
          // Never the DSN (it carries the password): pg's own message names the failure, not the URL.
          return `database unreachable: ${e instanceof Error ? e.message : "error"}`;
        }
      },
    });
  }
  return {
    checks,
    drain: () => {
      draining = true;
    },
    close: async () => {
      await pool?.end().catch(() => undefined);
    },
  };
}
