// The Iris trainer's argv, one argument per line as the launch form takes it.
import path from "node:path";

export function irisCommand(): string {
  return [process.execPath, "--import", import.meta.resolve("tsx"), path.resolve("examples/iris-node/train.ts")].join("\n");
}
