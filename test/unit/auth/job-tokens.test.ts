// JobTokens: issue, resolve, revoke, and the max lifetime (the per-job registry credential of issue 17 item 4).
import { describe, expect, it } from "vitest";
import { JOB_TOKEN_PREFIX, JobTokens } from "../../../platform/auth/job-tokens.ts";

describe("JobTokens", () => {
  it("resolves a live token to its job, and nothing else", () => {
    const tokens = new JobTokens(() => 1000);
    const t = tokens.issue("job-a", 60_000);
    expect(t.startsWith(JOB_TOKEN_PREFIX)).toBe(true);
    expect(tokens.resolve(t)).toEqual({ jobId: "job-a", expiresAt: 61_000 });
    expect(tokens.resolve(t + "x")).toBeUndefined();
    expect(tokens.resolve(t.slice(JOB_TOKEN_PREFIX.length))).toBeUndefined();
    expect(tokens.resolve("")).toBeUndefined();
  });

  it("stops resolving once revoked, or re-issued for the same job", () => {
    const tokens = new JobTokens();
    const first = tokens.issue("job-b", 60_000);
    const second = tokens.issue("job-b", 60_000);
    expect(tokens.resolve(first)).toBeUndefined();
    expect(tokens.resolve(second)?.jobId).toBe("job-b");
    tokens.revoke("job-b");
    expect(tokens.resolve(second)).toBeUndefined();
    expect(tokens.size).toBe(0);
  });

  it("expires at its max lifetime even if never revoked", () => {
    let now = 0;
    const tokens = new JobTokens(() => now);
    const t = tokens.issue("job-c", 5000);
    now = 4999;
    expect(tokens.resolve(t)?.jobId).toBe("job-c");
    now = 5000;
    expect(tokens.resolve(t)).toBeUndefined();
    expect(tokens.size).toBe(0);
  });
});
