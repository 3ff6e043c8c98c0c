import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod, type V1PodCondition, type V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import fastJsonPatch from "fast-json-patch";
import { OWNED_LABELS, POD_NAME_ANNOTATION } from "../api/conditions.ts";
import { CLEANUP_FINALIZER, dedicatedTaintKey, NODE_POD_UID_LABEL, POOL_LABEL, POOL_LABEL_VALUE, POOL_STATE_LABEL, POOL_STATES, poolTaintKey } from "../api/names.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION } from "./config.ts";
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
  /**
   * The claim of a pool VMI for a pod: one JSON patch whose `test` pins the VMI `unclaimed`, so of pods racing for it
   * exactly one gets it. false when it was claimed (or deleted) first.
   */
  claimVmi(namespace: string, name: string, pod: { readonly uid: string; readonly namespace: string; readonly name: string }): Promise<boolean>;
  /** A claimed pool node made the pod's: its UID label, its dedicated taint for the pool taint (tested, retried from a fresh copy). */
  /** From the cached node when given (a read saved); a failed test reads it afresh. */
  claimNode(name: string, podUid: string, taintKeyPrefix: string, cached?: V1Node): Promise<boolean>;
  /**
   * An unclaimed pool VMI retired (a JSON patch whose `test` pins it `unclaimed`, so it never races a claim) and then
   * deleted; false when it was claimed or gone meanwhile. One already retired is just deleted.
   */
  deletePoolVmi(namespace: string, name: string): Promise<boolean>;
  /** The pool VMIs, read past the cache: the pool's count never lags its own creates. */
  listPoolVmis(namespace: string): Promise<V1VirtualMachineInstance[]>;
  /** The warm pool's counts in the MaroonedPodsConfig's status; false when there is no config object. */
  reportWarmPool(counts: Readonly<Record<string, number>>): Promise<boolean>;
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
    claimVmi(namespace, name, pod) {
      const label = (key: string) => `/metadata/labels/${fastJsonPatch.escapePathComponent(key)}`;
      const body = [
        { op: "test", path: label(POOL_STATE_LABEL), value: POOL_STATES.unclaimed },
        { op: "replace", path: label(POOL_STATE_LABEL), value: POOL_STATES.claimed },
        { op: "add", path: label(OWNED_LABELS.podUid), value: pod.uid },
        { op: "add", path: label(OWNED_LABELS.podNamespace), value: pod.namespace },
        { op: "add", path: `/metadata/annotations/${fastJsonPatch.escapePathComponent(POD_NAME_ANNOTATION)}`, value: pod.name },
      ];
      return unlessStatus([404, 409, 422], () => customObjects.patchNamespacedCustomObject({ ...vmiRef, namespace, name, body }, jsonPatch));
    },
    async claimNode(name, podUid, taintKeyPrefix, cached) {
      for (let attempt = 1; ; attempt++) {
        const node = attempt === 1 && cached ? cached : (await core.listNode({ fieldSelector: `metadata.name=${name}` })).items[0];
        if (!node) return false;
        const current = node.spec?.taints;
        const taints = [
          ...(current ?? []).filter((t) => t.key !== poolTaintKey(taintKeyPrefix) && t.key !== dedicatedTaintKey(taintKeyPrefix)),
          { key: dedicatedTaintKey(taintKeyPrefix), value: podUid, effect: "NoSchedule" },
        ];
        const body = [
          { op: "test", path: "/metadata/uid", value: node.metadata?.uid },
          ...(current === undefined ? [] : [{ op: "test", path: "/spec/taints", value: current }]),
          { op: "add", path: "/spec/taints", value: taints },
          { op: "add", path: `/metadata/labels/${fastJsonPatch.escapePathComponent(NODE_POD_UID_LABEL)}`, value: podUid },
        ];
        try {
          await core.patchNode({ name, body }, jsonPatch);
          return true;
        } catch (error) {
          if (statusCodeOf(error) !== 422 || attempt >= RELEASE_ATTEMPTS) throw error;
        }
      }
    },
    async deletePoolVmi(namespace, name) {
      const path = `/metadata/labels/${fastJsonPatch.escapePathComponent(POOL_STATE_LABEL)}`;
      const retire = [{ op: "test", path, value: POOL_STATES.unclaimed }, { op: "replace", path, value: POOL_STATES.retired }];
      const retired = await unlessStatus([404, 422], () => customObjects.patchNamespacedCustomObject({ ...vmiRef, namespace, name, body: retire }, jsonPatch));
      if (!retired) {
        // Claimed (keep it) or retired before (a delete that did not go through: finish it) or gone.
        const found = (await customObjects.listNamespacedCustomObject({ ...vmiRef, namespace, fieldSelector: `metadata.name=${name}` })) as { items?: V1VirtualMachineInstance[] };
        const current = found.items?.[0]?.metadata?.labels?.[POOL_STATE_LABEL];
        if (current !== POOL_STATES.retired) return false;
      }
      return unlessStatus([404], () => customObjects.deleteNamespacedCustomObject({ ...vmiRef, namespace, name }));
    },
    async listPoolVmis(namespace) {
      const found = (await customObjects.listNamespacedCustomObject({ ...vmiRef, namespace, labelSelector: `${POOL_LABEL}=${POOL_LABEL_VALUE}` })) as { items?: V1VirtualMachineInstance[] };
      return found.items ?? [];
    },
    reportWarmPool: (counts) =>
      unlessStatus([404], () =>
        customObjects.patchClusterCustomObjectStatus({ group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, name: CONFIG_NAME, body: { status: { warmPool: counts } } }, mergePatch)),
    async listVmiByName(namespace, name) {
      const found = (await customObjects.listNamespacedCustomObject({ ...vmiRef, namespace, fieldSelector: `metadata.name=${name}` })) as { items?: V1VirtualMachineInstance[] };
      return found.items?.[0];
    },
  };
}
