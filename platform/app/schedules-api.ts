// /api/v1/schedules: the cron schedules with their next and last runs, and "run now" (mlops-engineer).
import { Hono } from "hono";
import { NotFoundError } from "../errors.ts";
import type { ScheduleStatus } from "../../triggers/cron/index.ts";

export interface ScheduleControl {
  list(): ScheduleStatus[];
  trigger(name: string): Promise<{ id: string } | undefined>;
}

export function schedulesApi(s: ScheduleControl): Hono {
  const app = new Hono();
  app.get("/", (c) => c.json({ schedules: s.list() }));
  app.post("/:name/trigger", async (c) => {
    const name = c.req.param("name");
    const ce = await s.trigger(name);
    if (!ce) throw new NotFoundError(`no schedule named ${name}`);
    return c.json({ name, eventId: ce.id }, 202);
  });
  return app;
}
