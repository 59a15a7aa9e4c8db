// The closed, ordered set of roles and the principal type every route checks against.
export const ROLES = ["viewer", "data-scientist", "mlops-engineer"] as const;
export type Role = (typeof ROLES)[number];
export const isRole = (v: unknown): v is Role => typeof v === "string" && (ROLES as readonly string[]).includes(v);

/** True when `have` grants at least what `need` does (roles are ordered: each includes the ones before it). */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** The highest of a list of roles, or undefined for an empty list. */
export function highestRole(roles: readonly Role[]): Role | undefined {
  let best: Role | undefined;
  for (const r of roles) if (!best || roleAtLeast(r, best)) best = r;
  return best;
}

export interface Principal {
  readonly name: string;
  readonly role: Role;
  /** How the caller proved who they are. */
  /** "job": a training job's own token, limited to the registry API (JOB_TOKEN_SCOPE). */
  readonly via: "token" | "session" | "oidc-bearer" | "dev" | "job";
}
