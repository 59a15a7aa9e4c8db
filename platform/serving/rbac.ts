// Every Kubernetes call the cluster serving backends make, per function: the source of infer's and deploy-model's
// least-privilege Roles (manifests/components/<backend>/roles.yaml), as training's TRAINING_RBAC is for training.
// ServingKubeClient (kube.ts) is the only caller: read -> get, list -> list, apply -> patch (server-side apply),
// delete -> delete. Tests record the calls each function makes against the fake API server and compare.

/** Kubernetes verbs per serving function. */
export const SERVING_RBAC = {
  // infer: a deployment's status and endpoint (get); the 404 for an unknown deployment lists what is deployed (list).
  infer: ["get", "list"],
  // deploy-model: server-side apply is a PATCH, and the API server checks `create` too when the object does not
  // exist yet (apply creates it); status polling reads; undeploy deletes; the UI-facing list.
  deployModel: ["get", "list", "create", "patch", "delete"],
} as const satisfies Record<string, readonly string[]>;

/** Verbs granted without being a recorded call (the API server's own extra check), so tests can tell them apart. */
export const IMPLIED_VERBS: Readonly<Record<keyof typeof SERVING_RBAC, readonly string[]>> = { infer: [], deployModel: ["create"] };
