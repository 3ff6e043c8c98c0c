import { CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { MANAGED_BY, OWNED_LABELS } from "../api/conditions.ts";
import { DEFAULT_VM_NAMESPACE, MANAGED_LABEL, MANAGED_LABEL_VALUE, POOL_LABEL, POOL_LABEL_VALUE, POOL_STATE_LABEL, POOL_STATES } from "../api/names.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION } from "../controller/config.ts";
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

const UNCLAIMED_POOL_SELECTOR = `${POOL_LABEL}=${POOL_LABEL_VALUE},${POOL_STATE_LABEL}=${POOL_STATES.unclaimed}`;

async function unclaimedPoolVmis(kubeConfig: KubeConfig): Promise<string[]> {
  if (!(await crdServed(kubeConfig, VMI_CRD_NAME))) return [];
  const vmis = (await kubeConfig.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
    group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, labelSelector: UNCLAIMED_POOL_SELECTOR,
  })) as { items?: { metadata?: { name?: string } }[] };
  return (vmis.items ?? []).map((v) => `vmi/${DEFAULT_VM_NAMESPACE}/${v.metadata?.name ?? ""}`);
}

/**
 * Unclaimed warm pool VMs are nobody's workload: the pool is set to 0 and the controller drains them (VMI, Secret,
 * token, node), as it would for any resize, before anything is removed. Nothing to do without a pool.
 */
async function drainWarmPool(kubeConfig: KubeConfig, timeoutMs: number): Promise<void> {
  if ((await unclaimedPoolVmis(kubeConfig)).length === 0) return;
  try {
    await kubeConfig.makeApiClient(CustomObjectsApi).patchClusterCustomObject(
      { group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, name: CONFIG_NAME, body: { spec: { warmPool: { size: 0 }, warmPoolSize: null } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  } catch (error) {
    // No config: the controller's default is no pool, and it is draining already.
    if (!isNotFound(error)) throw error;
  }
  try {
    await pollUntil("the warm pool to drain", async () => ((await unclaimedPoolVmis(kubeConfig)).length === 0 ? true : undefined), { timeoutMs, intervalMs: 1_000 });
  } catch {
    throw new WorkloadsRemain(`the controller did not drain the warm pool (${(await unclaimedPoolVmis(kubeConfig)).join(", ")}) within ${String(timeoutMs / 1000)}s; is it running?`);
  }
}

/** Marooned pods (any namespace) and the controller's VMIs, as `pod/ns/name` and `vmi/ns/name`; unclaimed pool VMs too unless left out. */
export async function maroonedWorkloads(kubeConfig: KubeConfig, options: { withUnclaimedPool?: boolean } = {}): Promise<string[]> {
  const pods = await kubeConfig.makeApiClient(CoreV1Api).listPodForAllNamespaces({ labelSelector: `${MANAGED_LABEL}=${MANAGED_LABEL_VALUE}` });
  const refs = pods.items.map((p) => `pod/${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`);
  if (await crdServed(kubeConfig, VMI_CRD_NAME)) {
    const vmis = (await kubeConfig.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
      group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, labelSelector: `${OWNED_LABELS.component}=${MANAGED_BY}`,
    })) as { items?: { metadata?: { name?: string } }[] };
    const unclaimed = options.withUnclaimedPool === false ? new Set(await unclaimedPoolVmis(kubeConfig)) : new Set<string>();
    for (const vmi of vmis.items ?? []) {
      const ref = `vmi/${DEFAULT_VM_NAMESPACE}/${vmi.metadata?.name ?? ""}`;
      if (!unclaimed.has(ref)) refs.push(ref);
    }
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
  const remaining = await maroonedWorkloads(kubeConfig, { withUnclaimedPool: false });
  if (remaining.length > 0 && !options.force) {
    throw new WorkloadsRemain(`${String(remaining.length)} marooned pods and VMs still exist: ${remaining.join(", ")}; delete them first, or run uninstall --force to tear them down`);
  }
  await drainWarmPool(kubeConfig, options.timeoutMs);
  if (remaining.length > 0) await tearDownWorkloads(kubeConfig, options.timeoutMs);
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
