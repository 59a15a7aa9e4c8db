// Test harness: an embedded registry mounted at /api/2.0 on a bare Hono app, called in-process.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { createLogger } from "../../../platform/log.ts";
import { createRegistryServer, REGISTRY_MOUNT_PATH, type RegistryServer } from "../../../platform/registry/index.ts";

export interface Harness {
  readonly app: Hono;
  readonly server: RegistryServer;
  readonly dataDir: string;
  call(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }>;
  close(): void;
}

export function startHarness(): Harness {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-registry-"));
  const server = createRegistryServer({ dataDir, log: createLogger("silent") });
  const app = new Hono().route(REGISTRY_MOUNT_PATH, server.routes);
  return {
    app,
    server,
    dataDir,
    async call(method, p, body) {
      const init: RequestInit = { method };
      if (body !== undefined) {
        init.headers = { "content-type": "application/json" };
        init.body = typeof body === "string" ? body : JSON.stringify(body);
      }
      const res = await app.request(`http://registry.test${REGISTRY_MOUNT_PATH}${p}`, init);
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) json = Object.fromEntries(Object.entries(parsed));
      } catch {
        json = {};
      }
      return { status: res.status, json, text };
    },
    close() {
      server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Read a nested field without casts. */
export function get(obj: unknown, ...keys: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = Object.entries(cur).find(([key]) => key === String(k))?.[1];
  }
  return cur;
}

/** A nested field that must be a list ([] when absent, as MLflow omits empty lists). */
export function list(obj: unknown, ...keys: (string | number)[]): unknown[] {
  const v = get(obj, ...keys);
  return Array.isArray(v) ? v : [];
}
