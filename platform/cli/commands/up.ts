// `flywheel up`: the embedded platform in this process until SIGINT/SIGTERM.
import { parseCommand } from "../args.ts";
import type { Out } from "../output.ts";

export async function up(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseCommand(argv, { port: { type: "string" }, "data-dir": { type: "string" }, host: { type: "string" } });
  const { startEmbedded } = await import("../../app/start.ts");
  const port = values.port === undefined ? undefined : Number(values.port);
  const platform = await startEmbedded({ env, port, dataDir: values["data-dir"], host: values.host, quiet: false });
  out.line(`flywheel is up on ${platform.url}  (data: ${platform.dataDir})`);
  if (platform.tokenGenerated && platform.token) {
    // Printed once, when it is generated; afterwards it is only in <data-dir>/auth-token (mode 0600).
    out.line(`admin token (shown once, stored in ${platform.dataDir}): ${platform.token}`);
  } else if (platform.devMode) {
    out.line("dev mode: auth is off (loopback only)");
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  out.line("stopping...");
  await platform.stop();
  return 0;
}
