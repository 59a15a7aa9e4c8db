// The per-request CSRF token, minted on first use: only a page that renders a form asks for it, so API answers
// (/v2, /infer, ...) set no cookie and cost no MAC.
import type { Context } from "hono";

const tokens = new WeakMap<Request, string>();
const minters = new WeakMap<Request, (c: Context) => string>();

/** Called by the auth middleware for callers without an Authorization header (browsers). */
export function setCsrfMinter(req: Request, mint: (c: Context) => string): void {
  minters.set(req, mint);
}

/** The CSRF token every form rendered for this request must carry (field `_csrf` or header `X-CSRF-Token`). */
export function csrfTokenOf(c: Context): string {
  const known = tokens.get(c.req.raw);
  if (known !== undefined) return known;
  const t = minters.get(c.req.raw)?.(c) ?? "";
  tokens.set(c.req.raw, t);
  return t;
}
