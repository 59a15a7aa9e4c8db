// Public surface of feedback: POST /feedback/{deployment} and the inference.feedback CloudEvent handler.
export { applyFeedback, type FeedbackItem, type FeedbackResult } from "./core.ts";
export { feedbackRoutes } from "./routes.ts";
export { feedbackHandler } from "./handler.ts";
export type { FeedbackDeps } from "./deps.ts";
