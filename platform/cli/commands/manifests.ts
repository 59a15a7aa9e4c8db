// `flywheel manifests [--overlay NAME]`: the rendered cluster manifests (kustomize of manifests/, no kubectl needed).
import { parseCommand } from "../args.ts";
import type { Out } from "../output.ts";

export async function manifests(argv: string[], _env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseCommand(argv, { overlay: { type: "string" } });
  const { renderManifests, renderObjects } = await import("../../manifests/index.ts");
  if (values.json) out.json(renderObjects(values.overlay));
  else out.line(renderManifests(values.overlay).trimEnd());
  return 0;
}
