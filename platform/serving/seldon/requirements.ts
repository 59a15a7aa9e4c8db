// Seldon Model requirements from MLmodel flavors, and the MLflow-environment check: MLServer does not install a
// model's conda/python env, so requirements the server image lacks become a warning in the deployment status.
import type { ResolvedModel } from "../../ports.ts";

/** Flavor -> Server capabilities (interfaces.md §4). Native runtimes first; anything else goes to MLServer's mlflow. */
const BY_FLAVOR: readonly (readonly [string, readonly string[]])[] = [
  ["onnx", ["triton", "onnx"]],
  ["sklearn", ["sklearn"]],
  ["xgboost", ["xgboost"]],
  ["lightgbm", ["lightgbm"]],
  ["tensorflow", ["triton", "tensorflow"]],
  ["keras", ["triton", "tensorflow"]],
];

export function requirementsFor(flavors: readonly string[]): string[] {
  for (const [flavor, caps] of BY_FLAVOR) if (flavors.includes(flavor)) return [...caps];
  return ["mlflow"];
}

/** What the stock MLServer image (seldonio/mlserver runtimes) ships; extend with the server option. */
export const DEFAULT_MLSERVER_PACKAGES = [
  "mlserver",
  "mlserver-sklearn",
  "mlserver-xgboost",
  "mlserver-lightgbm",
  "mlserver-mlflow",
  "mlflow",
  "scikit-learn",
  "xgboost",
  "lightgbm",
  "numpy",
  "pandas",
  "scipy",
  "joblib",
  "cloudpickle",
] as const;

const pkgName = (req: string): string =>
  req
    .split(/[<>=!~;[ @]/)[0]
    ?.trim()
    .toLowerCase()
    .replace(/_/g, "-") ?? "";

/** Requirements of an MLServer-served model that the server image does not provide. Empty for Triton models. */
export function missingRequirements(model: ResolvedModel, capabilities: readonly string[], serverPackages: readonly string[]): string[] {
  if (capabilities.includes("triton")) return [];
  const have = new Set(serverPackages.map(pkgName));
  // python itself and pip are not packages the server installs.
  return (model.requirements ?? []).filter((r) => {
    const n = pkgName(r);
    return n && n !== "python" && n !== "pip" && !have.has(n);
  });
}

export function environmentWarning(model: ResolvedModel, missing: readonly string[]): string {
  return (
    `MLServer does not install the model's Python environment and its image lacks ${missing.join(", ")} ` +
    `(from ${model.model} v${model.version}'s requirements): inference will fail on import. Use a server image with them, ` +
    `or pack the environment (conda-pack / venv-pack -o environment.tar.gz) and point parameters.environment_tarball at it ` +
    `(docs/serving.md).`
  );
}
