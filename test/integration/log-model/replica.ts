// One log-model replica as its own process, for the two-process champion race: waits for a start file, handles one
// training.succeeded event against MLflow at FAKE_URL, prints the outcome and the events it emitted as JSON.
import fs from "node:fs";
import { createLogModelDeps, logModelHandler } from "../../../functions/log-model/index.ts";
import { fromStructured, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { POLICIES } from "./setup.ts";

const [url = "", eventFile = "", goFile = ""] = process.argv.slice(2);
const parsed: unknown = JSON.parse(fs.readFileSync(eventFile, "utf8"));
const event = fromStructured(parsed && typeof parsed === "object" ? Object.fromEntries(Object.entries(parsed)) : {});
const emitted: AnyCloudEvent[] = [];
const deps = createLogModelDeps({
  bus: { emit: async (e) => void emitted.push(e) },
  log: createLogger("silent"),
  now: () => 1_700_000_000_000,
  mlflow: new MlflowClient({ trackingUri: url, retry: { baseDelayMs: 5, maxDelayMs: 50 } }),
  policies: parsePolicies(POLICIES),
});
while (!fs.existsSync(goFile)) await new Promise((r) => setTimeout(r, 5));
const out = await logModelHandler(event, deps);
process.stdout.write(`${JSON.stringify({ status: out.status, events: emitted.map((e) => ({ type: e.type, data: e.data })) })}\n`);
