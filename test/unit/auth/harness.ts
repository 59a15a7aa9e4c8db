// Test harness for auth: a tiny cookie jar for app.request(), and an app with routes at each role level.
import { Hono } from "hono";
import type { Auth } from "../../../platform/auth/index.ts";

export class Jar {
  readonly cookies = new Map<string, string>();
  readonly raw = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      this.raw.set(name, line);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/** The value of a hidden input named `name` in an HTML page. */
export function hiddenValue(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m?.[1]) throw new Error(`no hidden input ${name}`);
  return m[1];
}

/** An app with the auth routes plus API and page routes at each role level. */
export function appWith(auth: Auth): Hono {
  const app = new Hono();
  app.use(auth.middleware);
  app.route("/", auth.routes);
  app.get("/api/v1/jobs", auth.requireRole("viewer"), (c) => c.json({ ok: true }));
  app.post("/api/v1/deployments", auth.csrf, auth.requireRole("mlops-engineer"), (c) => c.json({ ok: true }, 202));
  app.get("/page", auth.requireRole("viewer"), (c) => c.html("<p>page</p>"));
  app.post("/page/deploy", auth.csrf, auth.requireRole("mlops-engineer"), (c) => c.html("<p>deployed</p>"));
  return app;
}

