// ServiceMonitor for the functions' own /metrics (through the headless metrics Service, never the Knative route).
import { meta, type K8sObject } from "./object.ts";
import { NAMESPACE } from "./settings.ts";

export function serviceMonitors(): K8sObject[] {
  return [
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      // kube-prometheus-stack selects ServiceMonitors by its release label.
      metadata: meta("flywheel-functions", NAMESPACE, "monitoring", { labels: { release: "kube-prometheus-stack" } }),
      spec: {
        selector: { matchLabels: { "app.kubernetes.io/name": "flywheel", "app.kubernetes.io/component": "monitoring" } },
        namespaceSelector: { matchNames: [NAMESPACE] },
        endpoints: [{ port: "metrics", path: "/metrics", interval: "30s", scrapeTimeout: "10s" }],
        // The pod's function label says which function a series came from even when K_SERVICE is unset.
        podTargetLabels: ["flywheel.dev/function"],
      },
    },
  ];
}
