// Secrets kept under the data dir (admin token, cookie-signing key) and constant-time comparison.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile, chmod } from "node:fs/promises";
import path from "node:path";

/** Constant-time string comparison (hashing first so unequal lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHmac("sha256", "flywheel-compare").update(a).digest();
  const hb = createHmac("sha256", "flywheel-compare").update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/**
 * Read a secret file, or create it with `make()` (mode 0600) when absent.
 * `created` tells the caller it is new (the admin token is printed only then).
 */
export async function loadOrCreateSecret(
  dataDir: string,
  file: string,
  make: () => string,
): Promise<{ value: string; created: boolean }> {
  const p = path.join(dataDir, file);
  try {
    const value = (await readFile(p, "utf8")).trim();
    if (value) return { value, created: false };
  } catch (e) {
    if (!(e instanceof Error && "code" in e && e.code === "ENOENT")) throw e;
  }
  await mkdir(dataDir, { recursive: true });
  const value = make();
  // "wx" so two processes starting at once never overwrite each other's secret.
  try {
    await writeFile(p, value + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if (e instanceof Error && "code" in e && e.code === "EEXIST") {
      return { value: (await readFile(p, "utf8")).trim(), created: false };
    }
    throw e;
  }
  await chmod(p, 0o600);
  return { value, created: true };
}
