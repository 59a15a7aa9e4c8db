// inference.feedback as a CloudEvent: the same checks as POST /feedback; a redelivery stores nothing twice.
import { parseEventAs, type AnyCloudEvent } from "../../platform/events/index.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import { applyFeedback } from "./core.ts";
import type { FeedbackDeps } from "./deps.ts";

export async function feedbackHandler(ce: AnyCloudEvent, deps: FeedbackDeps): Promise<HandlerOutcome> {
  const ev = parseEventAs("inference.feedback", ce);
  const r = await applyFeedback(deps, ev.data.deployment, ev.data.feedback, "data.feedback");
  return {
    status: r.matched === 0 && r.duplicates > 0 ? "duplicate" : "done",
    detail: `${r.matched} matched, ${r.unmatched} unmatched, ${r.duplicates} duplicate`,
    emitted: r.rollbacks,
  };
}
