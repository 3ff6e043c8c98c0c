/** The warm pool as both benchmarks drive it: its size in the `default` MaroonedPodsConfig, its status, its drain. */
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { POOL_LABEL, POOL_LABEL_VALUE } from "../src/api/names.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION } from "../src/controller/config.ts";
import { isNotFound, statusCodeOf } from "../src/kube/errors.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { pollUntil } from "../src/util/poll.ts";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const configRef = { group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL };

export interface PoolStatus { desired?: number; booting?: number; available?: number; claimed?: number }

export interface PoolWait {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** Throws to stop the wait early (a component died). */
  readonly check?: () => void;
}

/** A pool VM's size as spec.warmPool.vmResources says it. */
export interface PoolVmResources { readonly cpu: string; readonly memory: string }

/**
 * spec.warmPool.size (and vmResources and maxBooting, when given) of the `default` config (created if absent); a
 * merge patch, retried on a 409 from racing the controller's writes.
 */
export async function setPoolSize(custom: CustomObjectsApi, size: number, options: { vmResources?: PoolVmResources; maxBooting?: number } = {}): Promise<void> {
  const warmPool = { size, ...options };
  await pollUntil(`warmPool.size ${size} to be set`, async () => {
    try {
      await custom.patchClusterCustomObject({ ...configRef, name: CONFIG_NAME, body: { spec: { warmPool } } }, mergePatch);
      return true;
    } catch (error) {
      if (isNotFound(error)) {
        await custom.createClusterCustomObject({ ...configRef, body: { apiVersion: `${CONFIG_GROUP}/${CONFIG_VERSION}`, kind: "MaroonedPodsConfig", metadata: { name: CONFIG_NAME }, spec: { warmPool } } });
        return true;
      }
      if (statusCodeOf(error) === 409) return undefined;
      throw error;
    }
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

export async function poolStatus(custom: CustomObjectsApi): Promise<PoolStatus> {
  return ((await custom.getClusterCustomObject({ ...configRef, name: CONFIG_NAME })) as { status?: { warmPool?: PoolStatus } }).status?.warmPool ?? {};
}

/** Resolves once the config's status counts `size` pool VMs available. */
export async function waitForPoolAvailable(custom: CustomObjectsApi, size: number, wait: PoolWait): Promise<void> {
  await pollUntil(`warm pool with ${size} available`, async () => ((await poolStatus(custom)).available === size ? true : undefined), wait);
}

/** Sets the pool to 0 and resolves once no pool VMI is left in the VM namespace. */
export async function drainPool(custom: CustomObjectsApi, vmNamespace: string, wait: PoolWait): Promise<void> {
  await setPoolSize(custom, 0);
  await pollUntil("the warm pool to drain", async () => {
    const vmis = (await custom.listNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: vmNamespace, labelSelector: `${POOL_LABEL}=${POOL_LABEL_VALUE}` })) as { items: V1VirtualMachineInstance[] };
    return vmis.items.length === 0 ? true : undefined;
  }, wait);
}
