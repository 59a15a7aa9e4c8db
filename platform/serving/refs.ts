// Seldon pipeline tensor references: `<step|pipeline>.<inputs|outputs>[.<tensor>]`, and a bare step name = its outputs.

export interface TensorRef {
  /** A step name, or the pipeline's own name for its inputs. */
  readonly source: string;
  readonly side: "inputs" | "outputs";
  /** undefined = every tensor on that side */
  readonly tensor: string | undefined;
  readonly raw: string;
}

/** Parse a reference; returns undefined when it has no valid form. Tensor names may themselves contain dots. */
export function parseRef(raw: string): TensorRef | undefined {
  const parts = raw.split(".");
  const [source, side, ...rest] = parts;
  if (!source) return undefined;
  if (side === undefined) return { source, side: "outputs", tensor: undefined, raw };
  if (side !== "inputs" && side !== "outputs") return undefined;
  const tensor = rest.length ? rest.join(".") : undefined;
  if (tensor === "") return undefined;
  return { source, side, tensor, raw };
}

/** The key a tensorMap uses for one tensor of a reference. */
export const refKey = (source: string, side: "inputs" | "outputs", tensor: string): string => `${source}.${side}.${tensor}`;
