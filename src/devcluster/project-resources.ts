import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE } from "../api/names.ts";
import { applyObjects } from "../kube/apply.ts";
import { installCrds, readManifests } from "../kube/manifests.ts";

const CRDS_DIR = fileURLToPath(new URL("../../crds/", import.meta.url));
const RBAC_DIR = fileURLToPath(new URL("../../deploy/rbac/", import.meta.url));
const FIELD_MANAGER = "maroonedpods-devcluster";

/** The project's namespaces, RBAC (deploy/rbac/) and CRDs (crds/), for dev and test clusters; waits until the CRDs are served. */
export async function installProjectResources(kubeConfig: KubeConfig): Promise<void> {
  const namespaces = [DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE].map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } }));
  await applyObjects(kubeConfig, [...namespaces, ...(await readManifests(RBAC_DIR))], FIELD_MANAGER);
  await installCrds(kubeConfig, await readManifests(CRDS_DIR), FIELD_MANAGER);
}
