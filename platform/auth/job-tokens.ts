// Per-job registry tokens: what a training process authenticates with instead of the admin token (registry scope only).
import { createHash } from "node:crypto";
import { randomToken } from "./secrets.ts";

/** Recognisable prefix: a job token is never mistaken for the admin token or an OIDC JWT. */
export const JOB_TOKEN_PREFIX = "fwjob_";
/** The only paths a job token reaches (besides public ones): the MLflow REST API and the artifacts proxy. */
export const JOB_TOKEN_SCOPE = "/api/2.0/";

export interface JobGrant {
  readonly jobId: string;
  readonly expiresAt: number;
}

// Only hashes are kept: a heap dump or a debug print of this map holds nothing a caller could replay.
const digest = (token: string): string => createHash("sha256").update(token).digest("hex");

/** Issued at launch, revoked when the job reaches a terminal state, and bounded by a max lifetime in any case. */
export class JobTokens {
  readonly #grants = new Map<string, JobGrant>();
  readonly #byJob = new Map<string, string>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A fresh token for the job (any earlier one for the same job stops working). */
  issue(jobId: string, lifetimeMs: number): string {
    this.revoke(jobId);
    const token = JOB_TOKEN_PREFIX + randomToken(32);
    const hash = digest(token);
    this.#grants.set(hash, { jobId, expiresAt: this.#now() + lifetimeMs });
    this.#byJob.set(jobId, hash);
    return token;
  }

  revoke(jobId: string): void {
    const hash = this.#byJob.get(jobId);
    if (hash) this.#grants.delete(hash);
    this.#byJob.delete(jobId);
  }

  /** The grant behind a presented token, or undefined when unknown, revoked or expired. */
  resolve(token: string): JobGrant | undefined {
    if (!token.startsWith(JOB_TOKEN_PREFIX)) return undefined;
    const grant = this.#grants.get(digest(token));
    if (!grant) return undefined;
    if (grant.expiresAt <= this.#now()) {
      this.revoke(grant.jobId);
      return undefined;
    }
    return grant;
  }

  /** Number of live grants (for tests and metrics). */
  get size(): number {
    return this.#grants.size;
  }
}
