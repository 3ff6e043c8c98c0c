import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod, type V1PodCondition, type V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { CLEANUP_FINALIZER } from "../api/names.ts";
import { statusCodeOf } from "../kube/errors.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../kubevirt/api.ts";
import { isGated } from "./observed.ts";
import { releasePatch } from "./ungate.ts";

/**
 * Every write the controller makes, and the two reads it makes past its caches. Each write answers whether it took
 * effect: false when it found its work already done (created before, gone already, nothing left to release), so a
 * record of it (Event, log, metric) goes out only for a write that happened.
 */
export interface ClusterWriter {
  createSecret(secret: V1Secret): Promise<boolean>;
  createVmi(namespace: string, vmi: V1VirtualMachineInstance): Promise<boolean>;
  deleteVmi(namespace: string, name: string): Promise<boolean>;
  deleteSecret(namespace: string, name: string): Promise<boolean>;
  deleteNode(name: string): Promise<boolean>;
  labelNode(name: string, labels: Readonly<Record<string, string>>): Promise<boolean>;
  /** The release patch onto the pod it was decided on; retried from a fresh copy when a `test` failed. */
  releasePod(pod: V1Pod, podUid: string, node: string, taintKeyPrefix: string): Promise<boolean>;
  annotatePod(pod: V1Pod, annotations: Readonly<Record<string, string>>): Promise<boolean>;
  removeFinalizer(pod: V1Pod): Promise<boolean>;
  /** All of a reconcile's conditions in one status patch: they merge by type. */
  patchConditions(pod: V1Pod, conditions: readonly V1PodCondition[]): Promise<boolean>;
  /** The VMI of that name, read past the cache (which can lag the controller's own create). */
  listVmiByName(namespace: string, name: string): Promise<V1VirtualMachineInstance | undefined>;
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const strategicPatch = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
/** A release whose tests keep failing on fresh copies is left to the next reconcile. */
const RELEASE_ATTEMPTS = 3;

/** true when `call` succeeded, false when it failed with one of `codes` (its work was already done). */
async function unlessStatus(codes: readonly number[], call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if (codes.includes(statusCodeOf(error) ?? 0)) return false;
    throw error;
  }
}

/**
 * The writer against the API server. Reads past the caches list by name: that needs only the list right the caches
 * already hold, so the controller holds no `get` on pods or VMIs.
 */
export function createApiWriter(kubeConfig: KubeConfig): ClusterWriter {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const vmiRef = { group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL };
  const where = (pod: V1Pod) => ({ namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "" });
  return {
    createSecret: (secret) => unlessStatus([409], () => core.createNamespacedSecret({ namespace: secret.metadata?.namespace ?? "", body: secret })),
    createVmi: (namespace, vmi) => unlessStatus([409], () => customObjects.createNamespacedCustomObject({ ...vmiRef, namespace, body: vmi })),
    deleteVmi: (namespace, name) => unlessStatus([404], () => customObjects.deleteNamespacedCustomObject({ ...vmiRef, namespace, name })),
    deleteSecret: (namespace, name) => unlessStatus([404], () => core.deleteNamespacedSecret({ namespace, name })),
    deleteNode: (name) => unlessStatus([404], () => core.deleteNode({ name })),
    labelNode: (name, labels) => unlessStatus([], () => core.patchNode({ name, body: { metadata: { labels } } }, mergePatch)),
    async releasePod(pod, podUid, node, taintKeyPrefix) {
      const { namespace, name } = where(pod);
      let current: V1Pod | undefined = pod;
      for (let attempt = 1; ; attempt++) {
        try {
          await core.patchNamespacedPod({ namespace, name, body: releasePatch(current, podUid, taintKeyPrefix, node) }, jsonPatch);
          return true;
        } catch (error) {
          if (statusCodeOf(error) !== 422 || attempt >= RELEASE_ATTEMPTS) throw error;
        }
        // A failed test: the cached copy is behind in a field the release rewrites. Nothing to release if the fresh
        // copy is another pod by now or no longer gated.
        current = (await core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${name}` })).items[0];
        if (current?.metadata?.uid !== podUid || !isGated(current)) return false;
      }
    },
    annotatePod: (pod, annotations) => unlessStatus([], () => core.patchNamespacedPod({ ...where(pod), body: { metadata: { annotations } } }, mergePatch)),
    removeFinalizer(pod) {
      const index = (pod.metadata?.finalizers ?? []).indexOf(CLEANUP_FINALIZER);
      if (index < 0) return Promise.resolve(false);
      // test+remove: atomic, and never removes someone else's finalizer if the list moved.
      const path = `/metadata/finalizers/${index}`;
      return unlessStatus([404, 422], () => core.patchNamespacedPod({ ...where(pod), body: [{ op: "test", path, value: CLEANUP_FINALIZER }, { op: "remove", path }] }, jsonPatch));
    },
    patchConditions: (pod, conditions) => unlessStatus([], () => core.patchNamespacedPodStatus({ ...where(pod), body: { status: { conditions } } }, strategicPatch)),
    async listVmiByName(namespace, name) {
      const found = (await customObjects.listNamespacedCustomObject({ ...vmiRef, namespace, fieldSelector: `metadata.name=${name}` })) as { items?: V1VirtualMachineInstance[] };
      return found.items?.[0];
    },
  };
}
