import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_RUNTIME_CLASS } from "../api/names.ts";
import { namespaces, runtimeClass } from "../install/cluster-objects.ts";
import { controllerCertificateRbac, controllerRbac } from "../install/rbac.ts";
import { applyObjects } from "../kube/apply.ts";
import { installCrds, readManifests } from "../kube/manifests.ts";

const CRD_FILE = fileURLToPath(new URL("../../crds/maroonedpodsconfigs.maroonedpods.io.yaml", import.meta.url));
const FIELD_MANAGER = "maroonedpods-devcluster";

/**
 * The project's namespaces, the controller's deployed RBAC, the RuntimeClass every marooned pod is given and the
 * CRD, for dev and test clusters; waits until the CRD is served.
 */
export async function installProjectResources(kubeConfig: KubeConfig): Promise<void> {
  await applyObjects(kubeConfig, [...namespaces(), ...controllerRbac(), ...controllerCertificateRbac(), runtimeClass(DEFAULT_RUNTIME_CLASS)], FIELD_MANAGER);
  await installCrds(kubeConfig, await readManifests(CRD_FILE), FIELD_MANAGER);
}
