// The drift baseline (docs/artifacts.md "baseline.json", format version 1): one parser and validator for all readers.
import * as z from "zod";
import { ValidationError } from "../errors.ts";
import { zodIssues } from "../events/envelope.ts";

const finite = z.number().finite();

const NumericFeatureSchema = z.lazy(() =>
  z
    .object({
      type: z.literal("numeric"),
      /** counts.length + 1 strictly increasing bin edges. */
      edges: z.array(finite).min(2),
      counts: z.array(z.number().finite().nonnegative()).min(1),
    })
    .strict()
    .superRefine((f, ctx) => {
      if (f.edges.length !== f.counts.length + 1) {
        ctx.addIssue({ code: "custom", path: ["edges"], message: `must have counts.length + 1 = ${f.counts.length + 1} values, got ${f.edges.length}` });
      }
      for (let i = 1; i < f.edges.length; i++) {
        if (!((f.edges[i] ?? 0) > (f.edges[i - 1] ?? 0))) {
          ctx.addIssue({ code: "custom", path: ["edges", i], message: "edges must be strictly increasing" });
          break;
        }
      }
      if (f.counts.reduce((a, b) => a + b, 0) <= 0) ctx.addIssue({ code: "custom", path: ["counts"], message: "must not all be zero" });
    }),
);

const CategoricalSchema = z.lazy(() =>
  z
    .object({
      type: z.literal("categorical"),
      /** category -> proportion (normalised on load, so counts work too). */
      frequencies: z.record(z.string(), z.number().finite().nonnegative()),
    })
    .strict()
    .superRefine((f, ctx) => {
      if (Object.values(f.frequencies).reduce((a, b) => a + b, 0) <= 0) {
        ctx.addIssue({ code: "custom", path: ["frequencies"], message: "must have at least one positive frequency" });
      }
    }),
);

const FeatureSchema = z.lazy(() => z.discriminatedUnion("type", [NumericFeatureSchema, CategoricalSchema]));

export const BaselineSchema = z.lazy(() =>
  z
    .object({
      version: z.literal(1),
      features: z.record(z.string().min(1), FeatureSchema),
      predictions: CategoricalSchema.optional(),
      rows: z.number().int().nonnegative().optional(),
    })
    .strict(),
);

export type BaselineFile = z.output<typeof BaselineSchema>;

/** A numeric feature ready for scoring: expected proportions per bin. */
export interface NumericBaseline {
  readonly type: "numeric";
  readonly edges: readonly number[];
  readonly proportions: readonly number[];
}

/** A categorical feature (or the prediction distribution): expected proportion per category. */
export interface CategoricalBaseline {
  readonly type: "categorical";
  readonly categories: readonly string[];
  readonly proportions: readonly number[];
}

export type FeatureBaseline = NumericBaseline | CategoricalBaseline;

export interface Baseline {
  readonly features: Readonly<Record<string, FeatureBaseline>>;
  readonly predictions: CategoricalBaseline | undefined;
  readonly rows: number | undefined;
}

/** Where the monitor gets a version's baseline; the platform wires it to the registry (tag flywheel.baseline_artifact). */
export type BaselineLoader = (model: string, version: string) => Promise<Baseline | undefined>;

/** Parse baseline.json text or an already-decoded object. Throws ValidationError naming each bad field. */
export function parseBaseline(input: string | unknown): Baseline {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch {
      throw new ValidationError([{ field: "baseline", message: "is not valid JSON" }]);
    }
  }
  const parsed = BaselineSchema.safeParse(raw);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, "baseline"));
  const file = parsed.data;
  const features: Record<string, FeatureBaseline> = {};
  for (const [name, f] of Object.entries(file.features)) {
    features[name] = f.type === "numeric" ? { type: "numeric", edges: f.edges, proportions: normalise(f.counts) } : categorical(f.frequencies);
  }
  return { features, predictions: file.predictions ? categorical(file.predictions.frequencies) : undefined, rows: file.rows };
}

function categorical(freq: Readonly<Record<string, number>>): CategoricalBaseline {
  const categories = Object.keys(freq);
  return { type: "categorical", categories, proportions: normalise(categories.map((c) => freq[c] ?? 0)) };
}

function normalise(values: readonly number[]): number[] {
  const total = values.reduce((a, b) => a + b, 0);
  return values.map((v) => v / total);
}
