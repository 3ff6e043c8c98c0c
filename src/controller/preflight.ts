import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { apiMessageOf, statusCodeOf } from "../kube/errors.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../kubevirt/api.ts";
import { CONFIG_GROUP, CONFIG_PLURAL, CONFIG_VERSION } from "./config.ts";

/**
 * What must be in place before the caches start: without it they would retry
 * forever and the controller would sit there never ready. Each problem says how to fix it.
 */
export async function preflightProblems(kubeConfig: KubeConfig, vmNamespace: string): Promise<string[]> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const checks = [
    {
      what: "the MaroonedPodsConfig CRD",
      fix: "install it with `kubectl apply -f crds/`",
      call: () => api.listClusterCustomObject({ group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, limit: 1 }),
    },
    {
      what: `KubeVirt VirtualMachineInstances in namespace ${vmNamespace}`,
      fix: "install KubeVirt (its VirtualMachineInstance CRD)",
      call: () => api.listNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: vmNamespace, limit: 1 }),
    },
  ];
  const problems: string[] = [];
  for (const check of checks) {
    try {
      await check.call();
    } catch (error) {
      const code = statusCodeOf(error);
      if (code === 404) problems.push(`${check.what}: not found; ${check.fix}`);
      else if (code === 401 || code === 403) problems.push(`${check.what}: access denied (${code}): ${apiMessageOf(error)}; check the controller's RBAC (deploy/rbac/controller.yaml)`);
      else throw error;
    }
  }
  return problems;
}
