// Argument parsing shared by every CLI command: --url, --token, --json (surface.md "CLI").
import { parseArgs, type ParseArgsConfig } from "node:util";

export const COMMON_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

export interface Common {
  readonly url: string | undefined;
  readonly token: string | undefined;
  readonly json: boolean;
}

export function parseCommand<O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
}

/** --url/--token win over FLYWHEEL_URL/FLYWHEEL_TOKEN; the CLI is an entry point, so it may read the environment. */
export function common(values: { url?: string | undefined; token?: string | undefined; json?: boolean | undefined }, env: NodeJS.ProcessEnv): Common {
  return {
    url: values.url ?? env.FLYWHEEL_URL,
    token: values.token ?? env.FLYWHEEL_TOKEN ?? env.FLYWHEEL_AUTH_TOKEN,
    json: values.json ?? false,
  };
}
