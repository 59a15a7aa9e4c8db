// `flywheel deploy | infer | events`: deployments, predictions and the event log over the HTTP API.
import fs from "node:fs";
import YAML from "yaml";
import { ValidationError } from "../../errors.ts";
import { common, parseCommand } from "../args.ts";
import { table, type Out } from "../output.ts";
import { readSpecDocuments } from "../spec-file.ts";
import { clientFrom } from "./jobs.ts";

const BACKENDS = ["local", "seldon", "kserve"] as const;

export async function deploy(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseCommand(argv, {
    spec: { type: "string" },
    backend: { type: "string" },
    "dry-run": { type: "boolean", default: false },
  });
  const c = common(values, env);
  if (!values.spec) throw new ValidationError([{ field: "--spec", message: "is required (YAML or JSON; several documents allowed)" }]);
  if (values.backend && !BACKENDS.includes(values.backend as (typeof BACKENDS)[number])) {
    throw new ValidationError([{ field: "--backend", message: "must be local, seldon or kserve" }]);
  }
  const docs = readSpecDocuments(values.spec);
  const q = new URLSearchParams();
  if (values.backend) q.set("backend", values.backend);
  if (values["dry-run"]) q.set("dryRun", "1");
  const body = docs.map((d) => YAML.stringify(d)).join("---\n");
  const api = clientFrom(c);
  const res = await api.raw("POST", `/api/v1/deployments?${q}`, body, { "content-type": "application/yaml", accept: values["dry-run"] && !c.json ? "application/yaml" : "application/json" });
  const text = await res.text();
  if (!res.ok) {
    out.error(`HTTP ${res.status}: ${text}`);
    return 1;
  }
  if (values["dry-run"] && !c.json) out.line(text.trimEnd());
  else if (c.json) out.json(JSON.parse(text));
  else out.line(`requested: ${docs.length} deployment(s)`);
  return 0;
}

export async function infer(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseCommand(argv, { file: { type: "string" }, text: { type: "string" }, csv: { type: "string" } });
  const c = common(values, env);
  const [deployment, inline] = positionals;
  if (!deployment) throw new ValidationError([{ field: "DEPLOYMENT", message: "is required: flywheel infer DEPLOYMENT '{json}' | --file F | --csv F | --text '...'" }]);
  let body: string;
  let contentType = "application/json";
  if (values.text) {
    body = values.text;
    contentType = "text/plain";
  } else if (values.csv) {
    body = fs.readFileSync(values.csv, "utf8");
    contentType = "text/csv";
  } else if (values.file) {
    body = fs.readFileSync(values.file, "utf8");
  } else if (inline) {
    body = inline;
  } else {
    throw new ValidationError([{ field: "input", message: "give inline JSON, --file, --csv or --text" }]);
  }
  const res = await clientFrom(c).raw("POST", `/infer/${encodeURIComponent(deployment)}`, body, { "content-type": contentType });
  const text = await res.text();
  if (!res.ok) {
    out.error(`HTTP ${res.status}: ${text}`);
    return 1;
  }
  out.json(JSON.parse(text));
  return 0;
}

interface StoredEventRow {
  id: string;
  type: string;
  source: string;
  subject?: string;
  time: string;
}

export async function events(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseCommand(argv, { type: { type: "string" }, limit: { type: "string" } });
  const c = common(values, env);
  const q = new URLSearchParams();
  if (values.type) q.set("type", values.type);
  q.set("limit", values.limit ?? "50");
  const res = await clientFrom(c).request<{ events: StoredEventRow[] }>("GET", `/api/v1/events?${q}`);
  if (c.json) out.json(res.events);
  else out.line(table(res.events as unknown as Record<string, unknown>[], ["time", "type", "subject", "id"]));
  return 0;
}
