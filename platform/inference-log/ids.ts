// Request ids infer issues: `<time36>-<nonce>.<hmac>`. The HMAC tells an id this server issued (sampled or not) from
// a forged one, and the time part names the day partition the record lives in, so feedback never scans every day.
import { createHmac, randomFillSync, timingSafeEqual } from "node:crypto";

const ID = /^([0-9a-z]{1,12})-([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})$/;

export interface RequestIds {
  issue(deployment: string, now: number): string;
  /** The issue time (epoch ms) of an id signed for this deployment, or undefined for anything else. */
  verify(deployment: string, id: string): number | undefined;
}

const NONCE_BYTES = 12;
// Nonces come from a pool refilled 256 at a time, as crypto.randomUUID does: one randomBytes(12) per answer cost
// ~9 µs of CPU, more than the rest of the id (each pooled byte is still used once).
const pool = Buffer.allocUnsafe(NONCE_BYTES * 256);
let used = pool.length;
function nonce(): string {
  if (used + NONCE_BYTES > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += NONCE_BYTES;
  return pool.toString("base64url", used - NONCE_BYTES, used);
}

export function requestIds(secret: string): RequestIds {
  if (secret.length < 16) throw new RangeError("request id secret: at least 16 characters");
  // The deployment is inside the MAC: an id issued for one deployment is no use as feedback for another.
  const mac = (deployment: string, body: string): Buffer => createHmac("sha256", secret).update(`${deployment}\n${body}`).digest().subarray(0, 16);
  return {
    issue(deployment, now) {
      const body = `${now.toString(36)}-${nonce()}`;
      return `${body}.${mac(deployment, body).toString("base64url")}`;
    },
    verify(deployment, id) {
      const m = ID.exec(id);
      if (!m) return undefined;
      const body = `${m[1] ?? ""}-${m[2] ?? ""}`;
      const given = Buffer.from(m[3] ?? "", "base64url");
      const want = mac(deployment, body);
      if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
      // Only the canonical encoding: base64url's last character has spare bits, so another spelling of the same MAC
      // decodes equal and would make one id many (a duplicate feedback key that is not a duplicate string).
      if (given.toString("base64url") !== m[3]) return undefined;
      const t = parseInt(m[1] ?? "", 36);
      return Number.isFinite(t) ? t : undefined;
    },
  };
}
