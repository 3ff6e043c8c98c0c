import type { KubeConfig, V1Node, V1Pod } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import { OWNED_LABELS, POD_CONDITIONS } from "../src/api/conditions.ts";
import { NODE_POD_UID_LABEL } from "../src/api/names.ts";
import { conditionOf, isGated, isNodeReady } from "../src/controller/observed.ts";
import { createListWatchCache, type CacheHandlers } from "../src/kube/list-watch-cache.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { markFirst, type PodTimeline, type Step } from "./phases.ts";

/** Told when a pod's node registers and when it is Ready (the floor acts on these, as a controller would). */
export interface NodeListener {
  onNodeRegistered?(podUid: string, nodeName: string): void;
  onNodeReady?(podUid: string, nodeName: string): void;
}

export interface TimelineRecorder {
  /** Every pod's timeline by UID, created on first sight (by the create answer or a watch event). */
  timeline(podUid: string): PodTimeline;
  stop(): void;
}

/**
 * Watches the run's pods, the VMIs and the marooned nodes, and stamps each
 * pod's steps with the benchmark's monotonic clock when their events arrive.
 */
export async function startTimelineRecorder(options: {
  kubeConfig: KubeConfig;
  logger: Logger;
  podSelector: string;
  vmNamespace: string;
  clock: () => number;
  nodes?: NodeListener;
}): Promise<TimelineRecorder> {
  const { kubeConfig, logger, clock } = options;
  const timelines = new Map<string, PodTimeline>();
  const timeline = (uid: string): PodTimeline => {
    let found = timelines.get(uid);
    if (!found) timelines.set(uid, (found = {}));
    return found;
  };
  const mark = (uid: string | undefined, step: Step, at: number) => {
    if (uid) markFirst(timeline(uid), step, at);
  };
  const abort = new AbortController();
  const common = { kubeConfig, logger, signal: abort.signal, resyncPeriodMs: 0 };
  const stamped = <T>(seen: (object: T, at: number) => void): CacheHandlers<T> => {
    const handler = (object: T) => { seen(object, clock()); };
    return { onAdd: handler, onUpdate: handler };
  };

  const onPod = (pod: V1Pod, at: number) => {
    const uid = pod.metadata?.uid;
    if (conditionOf(pod, POD_CONDITIONS.WarmPool)?.status === "True") mark(uid, "claimed", at);
    if (!isGated(pod)) mark(uid, "ungated", at);
    if (pod.spec?.nodeName) mark(uid, "bound", at);
    if (pod.status?.phase === "Running") mark(uid, "running", at);
  };
  const onVmi = (vmi: V1VirtualMachineInstance, at: number) => {
    const uid = vmi.metadata?.labels?.[OWNED_LABELS.podUid];
    mark(uid, "vmiCreated", at);
    if (vmi.status?.phase === "Running") mark(uid, "vmiRunning", at);
  };
  const onNode = (node: V1Node, at: number) => {
    const uid = node.metadata?.labels?.[NODE_POD_UID_LABEL];
    const name = node.metadata?.name;
    if (!uid || !name) return;
    const steps = timeline(uid);
    if (steps.nodeRegistered === undefined) {
      steps.nodeRegistered = at;
      options.nodes?.onNodeRegistered?.(uid, name);
    }
    if (steps.nodeReady === undefined && isNodeReady(node)) {
      steps.nodeReady = at;
      options.nodes?.onNodeReady?.(uid, name);
    }
  };

  try {
    await Promise.all([
      createListWatchCache<V1Pod>({ ...common, path: "/api/v1/pods", labelSelector: options.podSelector }).start(stamped(onPod)),
      createListWatchCache<V1VirtualMachineInstance>({
        ...common, path: `/apis/${VMI_GROUP}/${VMI_VERSION}/namespaces/${options.vmNamespace}/${VMI_PLURAL}`, labelSelector: OWNED_LABELS.podUid,
      }).start(stamped(onVmi)),
      createListWatchCache<V1Node>({ ...common, path: "/api/v1/nodes", labelSelector: NODE_POD_UID_LABEL }).start(stamped(onNode)),
    ]);
  } catch (error) {
    abort.abort();
    throw error;
  }
  return { timeline, stop: () => { abort.abort(); } };
}
