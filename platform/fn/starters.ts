// Deps builders of the registered cloudEvent targets, so the Knative entry can start building them before the first event.

const starters = new Map<string, () => Promise<unknown>>();

/** framework.ts: `build` returns the target's (memoised) deps promise. */
export function registerStarter(target: string, build: () => Promise<unknown>): void {
  starters.set(target, build);
}

/**
 * Knative entry only (run.ts): begin building `target`'s deps (database pool, clients, policies) now, while the server
 * starts, instead of when the first event arrives: a cold start is usually caused by that event, which then waits for
 * less. A failure here is dropped: the deps are not cached, so the first event builds them again and answers that error
 * as it always did (a 500, retried). Embedded mode never calls this, so importing a function module opens nothing.
 */
export function startDeps(target: string): void {
  starters.get(target)?.().catch(() => undefined);
}
