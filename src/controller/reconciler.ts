import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Node,
  type V1Pod,
  type V1Secret,
} from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import { OWNED_LABELS, POD_CONDITIONS } from "../api/conditions.ts";
import { CLEANUP_FINALIZER, MAROONED_NODE_LABEL, MAROONED_NODE_LABEL_VALUE, TRUSTED_NODE_LABEL } from "../api/names.ts";
import { isAlreadyExists, statusCodeOf } from "../kube/errors.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { ListWatchCache } from "../kube/list-watch-cache.ts";
import type { ReconcileResult } from "../kube/workqueue.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../kubevirt/api.ts";
import { userDataSecretNameFor, vmNameFor } from "./artifacts.ts";
import type { ControllerConfig } from "./config.ts";
import { decideLaunch } from "./launch.ts";
import { decideLiveness } from "./liveness.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { conditionOf, conditionSince, isGated, type Action, type DesiredCondition, type Observed, type PhaseResult } from "./observed.ts";
import { decideRegistration } from "./registration.ts";
import { decideTeardown } from "./teardown.ts";
import { decideUngate, releasePatch } from "./ungate.ts";

export interface ControllerCaches {
  readonly pods: ListWatchCache<V1Pod>;
  readonly vmis: ListWatchCache<V1VirtualMachineInstance>;
  readonly userDataSecrets: ListWatchCache<V1Secret>;
  readonly tokens: ListWatchCache<V1Secret>;
  readonly nodes: ListWatchCache<V1Node>;
}

export interface ReconcilerDeps {
  readonly kubeConfig: KubeConfig;
  readonly caches: ControllerCaches;
  readonly config: () => ControllerConfig;
  readonly caCertHash: () => Promise<string>;
  readonly clock: { now(): number };
  readonly randomBytes: (n: number) => Uint8Array;
  readonly events: EventRecorder;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
}

/** Phases in order; the first that wants to write gets to, and the others' requeue hints still count. */
const PHASES: readonly ((o: Observed, randomBytes: (n: number) => Uint8Array) => PhaseResult | undefined)[] = [
  decideTeardown,
  decideLiveness,
  decideLaunch,
  // Before registration: a release must not wait while registration tidies up after a trust it already wrote.
  decideUngate,
  decideRegistration,
];

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const strategicPatch = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
/** A release whose tests keep failing on fresh copies is left to the next reconcile. */
const RELEASE_ATTEMPTS = 3;
type ConditionAction = Extract<Action, { kind: "setCondition" }>;
/** Every action but conditions, which a reconcile writes together in one status patch. */
type WriteAction = Exclude<Action, ConditionAction>;
const isCondition = (action: Action): action is ConditionAction => action.kind === "setCondition";
const isRecord = (action: Action): boolean => isCondition(action) || action.kind === "annotatePod" || action.kind === "event";

export function createReconciler(deps: ReconcilerDeps): (key: string) => Promise<ReconcileResult> {
  const core = deps.kubeConfig.makeApiClient(CoreV1Api);
  const customObjects = deps.kubeConfig.makeApiClient(CustomObjectsApi);
  const vmiRef = { group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL };
  const ignore = async (codes: number[], call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
    } catch (error) {
      if (!codes.includes(statusCodeOf(error) ?? 0)) throw error;
    }
  };

  const ownedBy = (uid: string) => (object: { metadata?: { labels?: Record<string, string> } } | undefined): boolean => object?.metadata?.labels?.[OWNED_LABELS.podUid] === uid;

  /**
   * The VMI this pod owns: the one of its derived name, else (a VM made under an earlier nodeNamePrefix) any VMI whose
   * owner label names it. The VM namespace is the controller's alone, so that label is the controller's record. The
   * cache can lag our own create; before concluding a launched VM vanished, ask the API server (a list by name needs
   * only the list right the cache already has, so the controller holds no `get` on VMIs).
   */
  async function readOwnedVmi(config: ControllerConfig, pod: V1Pod): Promise<V1VirtualMachineInstance | undefined> {
    const uid = pod.metadata?.uid ?? "";
    const derived = vmNameFor(config, uid);
    const cached = [deps.caches.vmis.get(config.vmNamespace, derived)].find(ownedBy(uid)) ?? deps.caches.vmis.list().find(ownedBy(uid));
    if (cached || conditionOf(pod, POD_CONDITIONS.VMLaunched)?.status !== "True") return cached;
    const found = (await customObjects.listNamespacedCustomObject({ ...vmiRef, namespace: config.vmNamespace, fieldSelector: `metadata.name=${derived}` })) as { items?: V1VirtualMachineInstance[] };
    return found.items?.find(ownedBy(uid));
  }

  /** Nothing in the snapshot is found through a field the pod's creator can write: only its UID and owner labels. */
  async function observe(pod: V1Pod): Promise<Observed> {
    const config = deps.config();
    const uid = pod.metadata?.uid ?? "";
    const vmi = await readOwnedVmi(config, pod);
    const vmName = vmi?.metadata?.name ?? vmNameFor(config, uid);
    const userDataSecret = deps.caches.userDataSecrets.get(config.vmNamespace, userDataSecretNameFor(vmName));
    return {
      pod,
      vmName,
      vmi,
      userDataSecret: ownedBy(uid)(userDataSecret) ? userDataSecret : undefined,
      tokens: deps.caches.tokens.list().filter(ownedBy(uid)),
      node: deps.caches.nodes.get(undefined, vmName),
      config,
      caCertHash: await deps.caCertHash(),
      now: deps.clock.now(),
    };
  }

  /**
   * Patches the release onto the pod it was decided on; false when there was nothing left to release. A failed
   * test means the cached copy is behind in a field the release rewrites: patch again from a fresh copy (a list by
   * name, which needs no `get` on pods), unless that copy is another pod by now or no longer gated.
   */
  async function releasePod(pod: V1Pod, podUid: string, node: string, taintKeyPrefix: string): Promise<boolean> {
    const namespace = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    let current: V1Pod | undefined = pod;
    for (let attempt = 1; ; attempt++) {
      try {
        await core.patchNamespacedPod({ namespace, name, body: releasePatch(current, podUid, taintKeyPrefix, node) }, jsonPatch);
        return true;
      } catch (error) {
        if (statusCodeOf(error) !== 422 || attempt >= RELEASE_ATTEMPTS) throw error;
      }
      current = (await core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${name}` })).items[0];
      if (current?.metadata?.uid !== podUid || !isGated(current)) return false;
    }
  }

  /** One status patch for all of a reconcile's conditions: they merge by type, and each round trip saved counts. */
  async function patchConditions(o: Observed, desired: readonly DesiredCondition[]): Promise<void> {
    const conditions = desired.map((condition) => {
      const current = conditionOf(o.pod, condition.type);
      const since = current?.status === condition.status && current.lastTransitionTime ? current.lastTransitionTime : new Date(o.now);
      return { ...condition, lastTransitionTime: new Date(since).toISOString() };
    });
    const { namespace = "", name = "" } = o.pod.metadata ?? {};
    await core.patchNamespacedPodStatus({ namespace, name, body: { status: { conditions } } }, strategicPatch);
  }

  async function perform(action: WriteAction, o: Observed, log: Logger): Promise<void> {
    const pod = o.pod;
    const namespace = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    switch (action.kind) {
      case "createSecret":
        await ignore([409], () => core.createNamespacedSecret({ namespace: action.secret.metadata?.namespace ?? "", body: action.secret }));
        return;
      case "createVmi":
        try {
          await customObjects.createNamespacedCustomObject({ ...vmiRef, namespace: o.config.vmNamespace, body: action.vmi });
          deps.metrics.observePhase("gateToVmCreated", pod, o.now);
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
        }
        log.info({ vm: o.vmName }, "VM created");
        return;
      case "deleteVmi":
        await ignore([404], () => customObjects.deleteNamespacedCustomObject({ ...vmiRef, namespace: action.namespace, name: action.name }));
        log.info({ vm: action.name }, "VM deleted");
        return;
      case "deleteSecret":
        await ignore([404], () => core.deleteNamespacedSecret({ namespace: action.namespace, name: action.name }));
        return;
      case "deleteNode":
        await ignore([404], () => core.deleteNode({ name: action.name }));
        log.info({ node: action.name }, "node deleted");
        return;
      case "trustNode":
        await core.patchNode({ name: action.name, body: { metadata: { labels: { [TRUSTED_NODE_LABEL]: action.podUid, [MAROONED_NODE_LABEL]: MAROONED_NODE_LABEL_VALUE } } } }, mergePatch);
        deps.metrics.observeSince("vmCreatedToNodeTrusted", conditionSince(pod, POD_CONDITIONS.VMLaunched), o.now);
        log.info({ node: action.name }, "node verified and trusted");
        return;
      case "releasePod":
        if (!(await releasePod(pod, action.podUid, action.node, o.config.taintKeyPrefix))) return;
        deps.metrics.observeSince("nodeTrustedToReleased", conditionSince(pod, POD_CONDITIONS.NodeTrusted), deps.clock.now());
        deps.metrics.observePhase("gateToReleased", pod, deps.clock.now());
        log.info({ node: o.vmName }, "pod released onto its node");
        return;
      case "annotatePod":
        await core.patchNamespacedPod({ namespace, name, body: { metadata: { annotations: action.annotations } } }, mergePatch);
        return;
      case "event":
        // Not awaited, as client-go's recorder does not block: an Event is a report, and waiting for
        // its write put one more round trip before every release (pipeline benchmark). record() never throws.
        void deps.events.record({ apiVersion: "v1", kind: "Pod", metadata: pod.metadata }, action.type, action.reason, action.message);
        deps.metrics.event(action.type, action.reason);
        return;
      case "removeFinalizer": {
        const index = (pod.metadata?.finalizers ?? []).indexOf(CLEANUP_FINALIZER);
        if (index < 0) return;
        // test+remove: atomic, and never removes someone else's finalizer if the list moved.
        const path = `/metadata/finalizers/${index}`;
        await ignore([404, 422], () => core.patchNamespacedPod({ namespace, name, body: [{ op: "test", path, value: CLEANUP_FINALIZER }, { op: "remove", path }] }, jsonPatch));
        deps.metrics.teardown();
        log.info("finalizer removed; teardown complete");
        return;
      }
    }
  }

  return async (key) => {
    const [namespace, name] = key.split("/", 2) as [string, string];
    const pod = deps.caches.pods.get(namespace, name);
    if (!pod) return {};
    const o = await observe(pod);
    const log = deps.logger.child({ pod: key, vm: o.vmName });
    let requeueAfterMs: number | undefined;
    for (const phase of PHASES) {
      const result = phase(o, deps.randomBytes);
      if (!result) continue;
      if (result.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, result.requeueAfterMs);
      if (result.actions.length === 0) continue;
      // Writes in order, then the pod's own records (conditions, annotations, Events) together: they
      // touch different fields and each round trip saved shortens the way to a release.
      const writes = result.actions.filter((a): a is WriteAction => !isCondition(a));
      for (const action of writes.filter((a) => !isRecord(a))) await perform(action, o, log);
      const conditions = result.actions.filter(isCondition).map((a) => a.condition);
      await Promise.all([
        ...(conditions.length > 0 ? [patchConditions(o, conditions)] : []),
        ...writes.filter(isRecord).map((action) => perform(action, o, log)),
      ]);
      break;
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  };
}
