// A run's artifacts: browse directories, download any file, preview text, JSON, CSV (as a table) and images.
import { Hono } from "hono";
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { UiDeps } from "../deps.ts";
import { page, pageContext } from "../layout.tsx";

const PREVIEW_BYTES = 256 * 1024;
const CSV_ROWS = 100;
const IMAGE: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp" };
const TEXT = new Set(["txt", "log", "md", "yaml", "yml", "py", "ts", "json", "jsonl", "csv", "tsv", "MLmodel", "toml", "cfg", "ini", "sh"]);

const extOf = (p: string): string => {
  const base = p.split("/").pop() ?? "";
  return base.includes(".") ? (base.split(".").pop() ?? "") : base;
};

/** Relative artifact paths only: no absolute paths, no `..`, no empty segments. */
export function safePath(raw: string | undefined): string | undefined {
  const p = (raw ?? "").replace(/^\/+|\/+$/g, "");
  if (p === "") return "";
  const parts = p.split("/");
  return parts.every((s) => s !== "" && s !== "." && s !== ".." && !s.includes("\\")) ? p : undefined;
}

/** A minimal CSV split (quoted fields, doubled quotes) for the preview table; not a general parser. */
export function csvRows(text: string, max = CSV_ROWS): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line || rows.length >= max + 1) continue;
    const cells: string[] = [];
    let cur = "";
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === "," || (ch === "\t" && !line.includes(","))) {
        cells.push(cur);
        cur = "";
      } else cur += ch;
    }
    cells.push(cur);
    rows.push(cells);
  }
  return rows;
}

export function artifactRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole } = deps.auth;
  const enc = encodeURIComponent;
  const bad = (c: Context): Response | Promise<Response> => page(c, pageContext(c, airflow), "Bad artifact path", "registry", <p class="error" role="alert">That is not a path inside the run's artifacts.</p>, { status: 400 });

  app.get("/registry/runs/:runId/artifacts", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const runId = c.req.param("runId");
    const dir = safePath(c.req.query("path"));
    if (dir === undefined) return bad(c);
    const files = deps.registry.listArtifacts ? await deps.registry.listArtifacts(runId, dir) : undefined;
    const up = dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) : "";
    return page(c, ctx, `Artifacts of run ${runId}`, "registry", <>
      <p class="crumbs"><a href={`/registry/runs/${enc(runId)}`}>Run {runId.slice(0, 12)}</a> › artifacts{dir ? ` › ${dir}` : ""}</p>
      <h1>Artifacts {dir ? <span class="mono muted">/{dir}</span> : null}</h1>
      {!files ? <p class="muted">This registry does not list artifacts.</p> : (
        <div class="card scroll">
          <table id="artifacts">
            <thead><tr><th scope="col">Name</th><th scope="col" class="num">Size</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {dir ? <tr><td colspan={3}><a href={`/registry/runs/${enc(runId)}/artifacts${up ? `?path=${enc(up)}` : ""}`}>↑ up</a></td></tr> : null}
              {files.map((f) => {
                const name = f.path.split("/").pop() ?? f.path;
                const full = dir && !f.path.startsWith(`${dir}/`) ? `${dir}/${name}` : f.path;
                return f.isDir ? (
                  <tr data-artifact={full}><td><a href={`/registry/runs/${enc(runId)}/artifacts?path=${enc(full)}`}>📁 {name}/</a></td><td></td><td></td></tr>
                ) : (
                  <tr data-artifact={full}>
                    <td><a href={`/registry/runs/${enc(runId)}/artifacts/view?path=${enc(full)}`}>{name}</a></td>
                    <td class="num">{f.size !== undefined ? fmtBytes(f.size) : ""}</td>
                    <td><a href={`/registry/runs/${enc(runId)}/artifacts/raw?path=${enc(full)}&download=1`} download={name} aria-label={`Download ${name}`}>Download</a></td>
                  </tr>
                );
              })}
              {!files.length ? <tr><td colspan={3} class="muted">Empty.</td></tr> : null}
            </tbody>
          </table>
        </div>
      )}
    </>);
  });

  app.get("/registry/runs/:runId/artifacts/view", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const runId = c.req.param("runId");
    const p = safePath(c.req.query("path"));
    if (!p || !deps.registry.getArtifact) return bad(c);
    const ext = extOf(p);
    const raw = `/registry/runs/${enc(runId)}/artifacts/raw?path=${enc(p)}`;
    const dir = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
    let body;
    if (IMAGE[ext.toLowerCase()]) body = <img src={raw} alt={`artifact ${p}`} class="artifact-image" />;
    else {
      const bytes = await deps.registry.getArtifact(runId, p);
      const binary = bytes.subarray(0, 4096).includes(0);
      if (binary && !TEXT.has(ext)) body = <p class="muted">A binary file ({fmtBytes(bytes.length)}): download it to open it.</p>;
      else body = <Preview ext={ext} text={bytes.subarray(0, PREVIEW_BYTES).toString("utf8")} cut={bytes.length > PREVIEW_BYTES} />;
    }
    return page(c, ctx, `Artifact ${p}`, "registry", <>
      <p class="crumbs"><a href={`/registry/runs/${enc(runId)}`}>Run {runId.slice(0, 12)}</a> › <a href={`/registry/runs/${enc(runId)}/artifacts${dir ? `?path=${enc(dir)}` : ""}`}>artifacts</a> › {p}</p>
      <h1 class="mono">{p}</h1>
      <p><a class="button secondary" href={`${raw}&download=1`} id="download">Download</a></p>
      <div class="card" id="artifact-preview">{body}</div>
    </>);
  });

  app.get("/registry/runs/:runId/artifacts/raw", requireRole("viewer"), async (c) => {
    const p = safePath(c.req.query("path"));
    if (!p || !deps.registry.getArtifact) return c.text("not a path inside the run's artifacts", 400);
    const bytes = await deps.registry.getArtifact(c.req.param("runId"), p);
    const type = IMAGE[extOf(p).toLowerCase()];
    const name = (p.split("/").pop() ?? "artifact").replace(/["\\\r\n]/g, "_");
    // Never let an artifact run as a page of this origin: bytes, a sandbox, and inline only for raster images.
    return c.body(new Uint8Array(bytes), 200, {
      "content-type": type && !c.req.query("download") ? type : "application/octet-stream",
      "content-disposition": `${type && !c.req.query("download") ? "inline" : "attachment"}; filename="${name}"`,
      "content-security-policy": "sandbox; default-src 'none'",
      "x-content-type-options": "nosniff",
      "cache-control": "private, no-store",
    });
  });
  return app;
}

const fmtBytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 ** 2).toFixed(1)} MB`);

const Preview: FC<{ ext: string; text: string; cut: boolean }> = ({ ext, text, cut }) => {
  const note = cut ? <p class="muted">Showing the first {PREVIEW_BYTES / 1024} KB.</p> : null;
  if (ext === "json" && !cut) {
    try {
      return <pre tabindex={0} data-preview="json">{JSON.stringify(JSON.parse(text), null, 2)}</pre>;
    } catch {
      // Not valid JSON after all: show it as text.
    }
  }
  if (ext === "csv" || ext === "tsv") {
    const [head, ...rows] = csvRows(text);
    return (
      <>
        <div class="scroll">
          <table data-preview="csv">
            <thead><tr>{(head ?? []).map((h) => <th scope="col">{h}</th>)}</tr></thead>
            <tbody>{rows.slice(0, CSV_ROWS).map((r) => <tr>{r.map((v) => <td>{v}</td>)}</tr>)}</tbody>
          </table>
        </div>
        {rows.length >= CSV_ROWS ? <p class="muted">First {CSV_ROWS} rows.</p> : null}
        {note}
      </>
    );
  }
  return <>{note}<pre tabindex={0} data-preview="text">{text}</pre></>;
};
