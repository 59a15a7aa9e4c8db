// The one declarative trigger file (triggers/triggers.yaml): Knative-shaped Triggers, read by the embedded broker
// and by the Knative manifest generator alike.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { ConfigError, ValidationError, type FieldIssue } from "../errors.ts";
import { zodIssues } from "../events/envelope.ts";
import { DeliverySpecSchema, DestinationSchema, dnsLabel, type DeliverySpec, type Destination } from "./delivery.ts";
import { parseAttributesFilter, parseFilters, type AttributesFilter, type SubscriptionsApiFilter } from "./filters.ts";
import { parseYaml } from "../yaml.ts";

export const DEFAULT_BROKER = "default";

/** The repository's trigger file (used when FLYWHEEL_TRIGGERS_FILE is not set). */
export const DEFAULT_TRIGGERS_FILE = fileURLToPath(new URL("../../triggers/triggers.yaml", import.meta.url));

/** One Trigger, as written (spec fields of eventing.knative.dev/v1 Trigger, plus its metadata.name). */
export interface TriggerDecl {
  readonly name: string;
  readonly broker: string;
  readonly filter?: AttributesFilter | undefined;
  readonly filters?: readonly SubscriptionsApiFilter[] | undefined;
  readonly subscriber: Destination;
  /** The trigger's own DeliverySpec, if it sets one. */
  readonly delivery?: DeliverySpec | undefined;
  /** The file-level default (the Broker's spec.delivery), used whole when the trigger sets no delivery. */
  readonly brokerDelivery?: DeliverySpec | undefined;
}

export interface TriggerFile {
  readonly broker: string;
  /** Default DeliverySpec: becomes the Broker's spec.delivery in Knative mode. */
  readonly delivery: DeliverySpec | undefined;
  readonly triggers: readonly TriggerDecl[];
}

export interface TriggerParseOptions {
  /** The Knative manifest generator may pass CESQL through; the embedded broker cannot evaluate it. */
  readonly allowCesql?: boolean;
}

export const CESQL_UNSUPPORTED =
  "cesql filters are not supported by the embedded broker; express the filter with exact, prefix, suffix, all, any or not";

const TriggerShape = z
  .object({
    name: dnsLabel,
    broker: dnsLabel.optional(),
    filter: z.unknown().optional(),
    filters: z.unknown().optional(),
    subscriber: DestinationSchema,
    delivery: DeliverySpecSchema.optional(),
  })
  .strict();

const FileShape = z
  .object({
    broker: dnsLabel.optional(),
    delivery: DeliverySpecSchema.optional(),
    triggers: z.array(z.unknown()),
  })
  .strict();

/** Validate a parsed trigger document. Throws ValidationError whose issues name each bad field (e.g. triggers[2].filters[0].exact). */
export function parseTriggerFile(doc: unknown, opts: TriggerParseOptions = {}): TriggerFile {
  const top = FileShape.safeParse(doc);
  if (!top.success) throw new ValidationError(zodIssues(top.error));
  const broker = top.data.broker ?? DEFAULT_BROKER;
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  const triggers: TriggerDecl[] = [];
  top.data.triggers.forEach((raw, i) => {
    const path = `triggers[${i}]`;
    const t = TriggerShape.safeParse(raw);
    if (!t.success) {
      issues.push(...zodIssues(t.error, path));
      return;
    }
    if (seen.has(t.data.name)) issues.push({ field: `${path}.name`, message: `duplicate trigger name ${t.data.name}` });
    seen.add(t.data.name);
    if (t.data.broker !== undefined && t.data.broker !== broker) {
      issues.push({ field: `${path}.broker`, message: `must be the file's broker ${JSON.stringify(broker)}` });
    }
    const filter = parseAttributesFilter(t.data.filter, `${path}.filter`, issues);
    const filters = parseFilters(t.data.filters, `${path}.filters`, issues, opts.allowCesql ? {} : { cesqlMessage: CESQL_UNSUPPORTED });
    triggers.push({
      name: t.data.name,
      broker,
      filter,
      filters,
      subscriber: t.data.subscriber,
      delivery: t.data.delivery,
      brokerDelivery: top.data.delivery,
    });
  });
  if (issues.length) throw new ValidationError(issues);
  return { broker, delivery: top.data.delivery, triggers };
}

/** Parse YAML (or JSON) text. `source` names the file in messages. */
export function parseTriggerYaml(text: string, opts: TriggerParseOptions = {}): TriggerFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ValidationError([{ field: "(file)", message: `not valid YAML: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` }]);
  }
  return parseTriggerFile(doc, opts);
}

/** Load the trigger file at start-up. Throws ConfigError listing every bad field, prefixed with the path. */
export function loadTriggerFile(file: string, opts: TriggerParseOptions = {}): TriggerFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError([`${file}: cannot read trigger file (${e instanceof Error ? e.message : String(e)})`]);
  }
  try {
    return parseTriggerYaml(text, opts);
  } catch (e) {
    if (e instanceof ValidationError) throw new ConfigError(e.issues.map((i) => `${file}: ${i.field}: ${i.message}`));
    throw e;
  }
}
