// Artifacts: the mlflow-artifacts proxy (GET/PUT/DELETE a file, list a dir) and the run artifact listing.
import fs from "node:fs";
import path from "node:path";
import type { Context, Hono } from "hono";
import { errorResponse, type Handle } from "./app.ts";
import { invalid, notFound } from "./errors.ts";
import { listingDir, type ArtifactRoots } from "./locations.ts";
import { listDir, resolveInside } from "./paths.ts";
import { compact } from "./request.ts";
import { runRow } from "./runs.ts";
import { col, type Db } from "./store.ts";
import type { Logger } from "../log.ts";
import { trimSlashes } from "../slashes.ts";

const PROXY_PREFIX = "/mlflow-artifacts/artifacts/";

// As MLflow's artifact server answers them (it serves .json as text/plain too).
const CONTENT_TYPES: Record<string, string> = {
  ".json": "text/plain", ".txt": "text/plain", ".yaml": "text/plain", ".yml": "text/plain", ".csv": "text/plain",
  ".html": "text/plain", ".md": "text/plain", ".png": "image/png", ".jpg": "image/jpeg", ".svg": "text/plain",
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

/** The artifact path after /mlflow-artifacts/artifacts/, percent-decoded once, from the raw URL (no normalisation). */
function proxyPath(c: Context): string {
  const raw = new URL(c.req.url).pathname;
  const at = raw.indexOf(PROXY_PREFIX);
  const encoded = at >= 0 ? raw.slice(at + PROXY_PREFIX.length) : "";
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw invalid("Invalid path");
  }
}

async function writeBody(c: Context, target: string): Promise<void> {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  // A short sibling name: the target's own name may already be at the 255-byte limit.
  const tmp = path.join(path.dirname(target), `.upload-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const fh = await fs.promises.open(tmp, "w");
  try {
    const body = c.req.raw.body;
    if (body) {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await fh.write(value);
      }
    }
  } catch (e) {
    await fh.close();
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  await fh.close();
  fs.renameSync(tmp, target);
}

function fileStream(file: string): ReadableStream<Uint8Array> {
  const stream = fs.createReadStream(file);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stream.on("data", (chunk) => controller.enqueue(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
      stream.on("end", () => controller.close());
      stream.on("error", (e) => controller.error(e));
    },
    cancel() {
      stream.destroy();
    },
  });
}

export function registerArtifacts(app: Hono, handle: Handle, db: Db, roots: ArtifactRoots, log: Logger): void {
  const root = roots.proxy;
  fs.mkdirSync(root, { recursive: true });

  // Registered before the wildcard routes, which would otherwise also match the bare path.
  // List one directory of the proxy; MLflow answers basenames only and the client joins the prefix.
  handle(app, "GET", "/mlflow-artifacts/artifacts", (m) => {
    const rel = m.str("path") ?? "";
    const dir = resolveInside(root, rel);
    return compact({ files: listDir(dir, "") });
  });


  app.get(`${PROXY_PREFIX}*`, (c) => {
    try {
      const rel = proxyPath(c);
      const file = resolveInside(root, rel);
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (!st || st.isDirectory()) throw notFound(`File ${rel} not found`);
      const type = contentTypeOf(file);
      return new Response(fileStream(file), {
        status: 200,
        headers: { "content-type": type, "content-length": String(st.size), "content-disposition": `attachment; filename="${path.basename(file).replace(/"/g, "")}"` },
      });
    } catch (e) {
      return errorResponse(c, e, log);
    }
  });

  app.put(`${PROXY_PREFIX}*`, async (c) => {
    try {
      const rel = proxyPath(c);
      if (!rel) throw invalid("Invalid path");
      const file = resolveInside(root, rel);
      if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw invalid(`Cannot overwrite directory ${rel}`);
      await writeBody(c, file);
      // Re-check after mkdir: a symlinked parent created concurrently must not have carried the write outside.
      resolveInside(root, rel);
      return c.json({});
    } catch (e) {
      return errorResponse(c, e, log);
    }
  });

  app.delete(`${PROXY_PREFIX}*`, (c) => {
    try {
      const rel = proxyPath(c);
      if (!rel) throw invalid("Invalid path");
      const target = resolveInside(root, rel);
      if (!fs.existsSync(target)) throw notFound(`File ${rel} not found`);
      fs.rmSync(target, { recursive: true, force: true });
      return c.json({});
    } catch (e) {
      return errorResponse(c, e, log);
    }
  });

  handle(app, "GET", "/mlflow/artifacts/list", (m) => {
    const runId = m.reqOneOf("run_id", "run_uuid");
    const rel = m.str("path") ?? "";
    const row = runRow(db, runId);
    const rootUri = col.str(row, "artifact_uri");
    // Checked again at use: a location stored before confinement existed must not be followed either.
    const dir = listingDir(roots, rootUri, rel);
    if (!dir) return { root_uri: rootUri };
    const prefix = trimSlashes(rel);
    return compact({ root_uri: rootUri, files: listDir(dir, prefix) });
  });
}
