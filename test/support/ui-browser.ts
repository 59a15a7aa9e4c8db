// The UI browser tests' one preamble: a real embedded platform (port 0, temp dir, known token) and Debian's Chromium
// through playwright-core with the flags toolchain.md lists and a fresh profile, started once per file.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { requireTool } from "./require-binary.ts";
import { startTestPlatform, type TestPlatform } from "./platform.ts";

export const SHOTS = path.resolve("test-results/ui");
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const ADMIN_TOKEN = "e2e-admin-token-0123456789";

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(opts: { javaScript: boolean }): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-chromium-"));
  fs.mkdirSync(SHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: requireTool("chromium"),
    headless: true,
    args: FLAGS,
    javaScriptEnabled: opts.javaScript,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  return {
    context,
    page,
    shot: async (name) => {
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    },
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Reload until `check` holds (for pages without JavaScript, which refresh themselves more slowly). */
export async function reloadUntil(page: Page, what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(500);
    await page.reload();
  }
}

export interface UiSession {
  /** The platform (valid inside tests). */
  readonly p: TestPlatform;
  readonly b: Browser;
  readonly page: Page;
  url(pathname: string): string;
  /** Log in through the login page with the admin token; lands on `then` (default "/"). */
  login(then?: string): Promise<void>;
}

/** One platform and one browser for the whole file: started in beforeAll, stopped (and the temp dir removed) in afterAll. */
export function useUiBrowser(opts: { javaScript: boolean; env?: Record<string, string> }): UiSession {
  let p: TestPlatform | undefined;
  let b: Browser | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ui-e2e-"));
  beforeAll(async () => {
    p = await startTestPlatform({ FLYWHEEL_AUTH_TOKEN: ADMIN_TOKEN, ...opts.env }, dataDir);
    b = await openBrowser({ javaScript: opts.javaScript });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await p?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not started (use it inside a test)`);
    return v;
  };
  const session: UiSession = {
    get p() {
      return need(p, "the platform");
    },
    get b() {
      return need(b, "the browser");
    },
    get page() {
      return need(b, "the browser").page;
    },
    url: (pathname) => `${need(p, "the platform").url}${pathname}`,
    async login(then = "/") {
      const page = session.page;
      await page.goto(session.url(`/login?next=${encodeURIComponent(then)}`));
      await page.fill("#token", ADMIN_TOKEN);
      await page.click("button[type=submit]");
      await page.waitForURL(session.url(then));
    },
  };
  return session;
}
