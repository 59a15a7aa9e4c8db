// POST /:deployment (mounted at /feedback): true labels for earlier predictions, by request id. One item, a list, or
// {feedback: [...]}. 202 with matched/unmatched/duplicate counts; a bad item is a 400 naming it and stores nothing.
import { Hono } from "hono";
import * as z from "zod";
import { toHttpError, ValidationError } from "../../platform/errors.ts";
import { FeedbackItemSchema, zodIssues } from "../../platform/events/index.ts";
import { readLimited } from "../../platform/serving/v2/body.ts";
import { applyFeedback } from "./core.ts";
import type { FeedbackDeps } from "./deps.ts";

const BodySchema = z.union([z.object({ feedback: z.array(FeedbackItemSchema).min(1).max(10_000) }).strict(), z.array(FeedbackItemSchema).min(1).max(10_000), FeedbackItemSchema]);

export function feedbackRoutes(deps: FeedbackDeps): Hono {
  const app = new Hono();
  app.post("/:deployment", async (c) => {
    try {
      const text = await readLimited(c, 4 * 1024 * 1024);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ValidationError([{ field: "body", message: "is not valid JSON" }]);
      }
      const parsed = BodySchema.safeParse(json);
      if (!parsed.success) {
        // Report against the most likely shape, so the field names the item the caller got wrong.
        const shape = Array.isArray(json) ? z.array(FeedbackItemSchema) : json && typeof json === "object" && "feedback" in json ? BodySchema.options[0] : FeedbackItemSchema;
        const again = shape.safeParse(json);
        throw new ValidationError(again.success ? zodIssues(parsed.error) : zodIssues(again.error, Array.isArray(json) ? "feedback" : ""));
      }
      const items = Array.isArray(parsed.data) ? parsed.data : "feedback" in parsed.data ? parsed.data.feedback : [parsed.data];
      const result = await applyFeedback(deps, c.req.param("deployment"), items);
      return c.json(result, 202);
    } catch (e) {
      const { status, body } = toHttpError(e);
      if (status >= 500) deps.log.warn("feedback failed", { message: e instanceof Error ? e.message : String(e) });
      return c.json(body, status as 400);
    }
  });
  return app;
}
