import { CoreV1Api, CustomObjectsApi, KubernetesObjectApi, type KubeConfig } from "@kubernetes/client-node";
import { MANAGED_BY, OWNED_LABELS } from "../api/conditions.ts";
import { DEFAULT_VM_NAMESPACE, MANAGED_LABEL, MANAGED_LABEL_VALUE } from "../api/names.ts";
import { isNotFound } from "../kube/errors.ts";
import { VMI_CRD_NAME, VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../kubevirt/api.ts";
import { pollUntil } from "../util/poll.ts";
import { objectRef } from "./changes.ts";
import { typedObject } from "../kube/apply.ts";
import { bundleWithCrds, CERT_MANAGER_CRD, crdServed, readIfPresent } from "./install.ts";

/** Uninstall would strand these: their finalizers and VMs need the controller. */
export class WorkloadsRemain extends Error {
  override readonly name = "WorkloadsRemain";
}

/** Marooned pods (any namespace) and the controller's VMIs, as `pod/ns/name` and `vmi/ns/name`. */
export async function maroonedWorkloads(kubeConfig: KubeConfig): Promise<string[]> {
  const pods = await kubeConfig.makeApiClient(CoreV1Api).listPodForAllNamespaces({ labelSelector: `${MANAGED_LABEL}=${MANAGED_LABEL_VALUE}` });
  const refs = pods.items.map((p) => `pod/${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`);
  if (await crdServed(kubeConfig, VMI_CRD_NAME)) {
    const vmis = (await kubeConfig.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
      group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, labelSelector: `${OWNED_LABELS.component}=${MANAGED_BY}`,
    })) as { items?: { metadata?: { name?: string } }[] };
    for (const vmi of vmis.items ?? []) refs.push(`vmi/${DEFAULT_VM_NAMESPACE}/${vmi.metadata?.name ?? ""}`);
  }
  return refs;
}

/** Deletes the marooned pods and waits for the controller to tear down their VMs, nodes and finalizers. */
async function tearDownWorkloads(kubeConfig: KubeConfig, timeoutMs: number): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const pods = await core.listPodForAllNamespaces({ labelSelector: `${MANAGED_LABEL}=${MANAGED_LABEL_VALUE}` });
  for (const pod of pods.items) {
    await core.deleteNamespacedPod({ namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "" }).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }
  try {
    await pollUntil("marooned pods and VMs to be torn down", async () => ((await maroonedWorkloads(kubeConfig)).length === 0 ? true : undefined), { timeoutMs, intervalMs: 1_000 });
  } catch {
    const left = await maroonedWorkloads(kubeConfig);
    throw new WorkloadsRemain(
      `the controller did not tear down ${left.join(", ")} within ${String(timeoutMs / 1000)}s; is it running? (kubectl -n maroonedpods-system get pods)`,
    );
  }
}

/**
 * Removes everything install creates, admission first (so nothing is blocked
 * while the rest goes) and the namespaces and CRD last, then waits until all of it is gone.
 * Refuses while marooned pods or VMs exist, unless force: then it tears them down first.
 */
export async function uninstall(
  kubeConfig: KubeConfig,
  options: { force: boolean; timeoutMs: number },
  onDeleted: (ref: string) => void = () => undefined,
): Promise<string[]> {
  const remaining = await maroonedWorkloads(kubeConfig);
  if (remaining.length > 0) {
    if (!options.force) {
      throw new WorkloadsRemain(`${String(remaining.length)} marooned pods and VMs still exist: ${remaining.join(", ")}; delete them first, or run uninstall --force to tear them down`);
    }
    await tearDownWorkloads(kubeConfig, options.timeoutMs);
  }
  const withCertManager = await crdServed(kubeConfig, CERT_MANAGER_CRD);
  const candidates = [...(await bundleWithCrds("self-managed")), ...(withCertManager ? await bundleWithCrds("cert-manager") : [])];
  const unique = [...new Map(candidates.map((o) => [objectRef(o), o])).values()].reverse();
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const deleted: string[] = [];
  for (const object of unique) {
    try {
      await client.delete(typedObject(object));
    } catch (error) {
      if (isNotFound(error)) continue;
      throw new Error(`deleting ${objectRef(object)}: ${(error as Error).message}`, { cause: error });
    }
    deleted.push(objectRef(object));
    onDeleted(objectRef(object));
  }
  const byRef = new Map(unique.map((o) => [objectRef(o), o]));
  await pollUntil(
    "the uninstalled objects to be gone (namespaces finish terminating)",
    async () => {
      for (const ref of deleted) if (await readIfPresent(client, typedObject(byRef.get(ref) ?? {}))) return undefined;
      return true;
    },
    { timeoutMs: options.timeoutMs, intervalMs: 500 },
  );
  return deleted;
}
