// The parts of @kubernetes/client-node Flywheel uses, named so the bundler keeps only them in the lazily loaded chunk
// (a dynamic import of the package itself would carry all of it). Imported through load.ts only.
export { CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, Log, PatchStrategy, Watch } from "@kubernetes/client-node";
