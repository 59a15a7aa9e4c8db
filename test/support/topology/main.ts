// `npm run topology`: starts the Knative topology on this machine for clicking through the UI by hand; Ctrl-C stops it.
import { startTopology } from "./index.ts";

const t = await startTopology({ keep: process.argv.includes("--keep") });
const out = (s: string): void => void process.stdout.write(`${s}\n`);
out(t.report());
out("");
out(`UI:            ${t.urls.ui}   (sign in with the admin token below)`);
out(`admin token:   ${t.secrets.adminToken}`);
out(`broker:        ${t.urls.brokerIngress}`);
out(`registry:      ${t.urls.registry}   (MLFLOW_TRACKING_URI)`);
out(`prometheus:    ${t.urls.prometheus}`);
out(`alertmanager:  ${t.urls.alertmanager}`);
out(`fake kube API: ${t.urls.kube}   (KUBECONFIG=${t.kubeconfigFile})`);
for (const [name, url] of Object.entries(t.urls.functions)) out(`  ${name.padEnd(22)} ${url}`);
out(`logs:          ${t.dir}/logs`);
out("Ctrl-C stops everything.");
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void t.stop().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
