import type { V1Pod, V1PodSpec, V1Toleration } from "@kubernetes/client-node";
import fastJsonPatch from "fast-json-patch";
import type { JsonPatchOperation } from "../admission/review.ts";
import { POD_ANNOTATIONS, REASONS } from "../api/conditions.ts";
import { dedicatedTaintKey, NODE_NOT_READY_TAINT_KEY, SCHEDULING_GATE, TRUSTED_NODE_LABEL } from "../api/names.ts";
import { act, isGated, isNodeReady, SKIP, type Action, type Observed, type PhaseResult } from "./observed.ts";
import { isTrusted, nodeVerifies } from "./verification.ts";

const sameToleration = (a: V1Toleration, b: V1Toleration): boolean =>
  a.key === b.key && (a.operator ?? "Equal") === (b.operator ?? "Equal") && (a.value ?? "") === (b.value ?? "") && a.effect === b.effect;

/**
 * The pod's spec after release: the nodeSelector on the trusted label, the
 * toleration for its own taint, no gate. It also tolerates the not-ready
 * NoSchedule taint, which admission puts on every new node and the node
 * lifecycle controller removes only some time after the node reports Ready
 * (12 s median, 26 s p99 in the benchmark): the release has just seen the node
 * Ready, and the nodeSelector keeps the pod off every other node.
 */
export function releasedSpec(spec: V1PodSpec | undefined, podUid: string, taintKeyPrefix: string): V1PodSpec {
  const tolerations = spec?.tolerations ?? [];
  const needed: V1Toleration[] = [
    { key: dedicatedTaintKey(taintKeyPrefix), operator: "Equal", value: podUid, effect: "NoSchedule" },
    { key: NODE_NOT_READY_TAINT_KEY, operator: "Exists", effect: "NoSchedule" },
  ];
  return {
    ...spec,
    containers: spec?.containers ?? [],
    nodeSelector: { ...spec?.nodeSelector, [TRUSTED_NODE_LABEL]: podUid },
    tolerations: [...tolerations, ...needed.filter((n) => !tolerations.some((t) => sameToleration(t, n)))],
    schedulingGates: (spec?.schedulingGates ?? []).filter((g) => g.name !== SCHEDULING_GATE),
  };
}

/**
 * The release as one JSON patch of the pod it was decided on. Its tests pin the
 * pod's identity and each field it rewrites, so it fails rather than overwrite a
 * change it did not see; status and annotation writes in between do not make it
 * fail, as they made a PUT guarded by resourceVersion conflict (about 30% of
 * releases in the benchmark, each then paying a read and a second write). It
 * also records the node in the pod's annotations, which saves a write of its
 * own. A pod with no annotations gets the whole map, behind a test that it is
 * still absent (the API server's JSON patch passes a null test on a missing
 * member), so an annotation written meanwhile fails the release, never goes.
 */
export function releasePatch(pod: V1Pod, podUid: string, taintKeyPrefix: string, node: string): JsonPatchOperation[] {
  const spec = releasedSpec(pod.spec, podUid, taintKeyPrefix);
  const pinned = (field: "schedulingGates" | "tolerations" | "nodeSelector"): JsonPatchOperation[] => {
    const current = pod.spec?.[field];
    return current === undefined ? [] : [{ op: "test", path: `/spec/${field}`, value: current }];
  };
  const recordNode: JsonPatchOperation = { op: "add", path: `/metadata/annotations/${fastJsonPatch.escapePathComponent(POD_ANNOTATIONS.node)}`, value: node };
  const recordNodeInNewMap: JsonPatchOperation[] = [
    { op: "test", path: "/metadata/annotations", value: null },
    { op: "add", path: "/metadata/annotations", value: { [POD_ANNOTATIONS.node]: node } },
  ];
  return [
    { op: "test", path: "/metadata/uid", value: podUid },
    ...pinned("schedulingGates"),
    ...pinned("tolerations"),
    ...pinned("nodeSelector"),
    { op: "add", path: "/spec/schedulingGates", value: spec.schedulingGates },
    { op: "add", path: "/spec/tolerations", value: spec.tolerations },
    { op: "add", path: "/spec/nodeSelector", value: spec.nodeSelector },
    ...(pod.metadata?.annotations === undefined ? recordNodeInNewMap : [recordNode]),
  ];
}

/**
 * The release, decided here alone: the one pod update onto the pod's node (`releasePatch`), reported by PodReleased
 * once it went through, when the node is Ready. Registration asks this too, with the node it trusts in the same
 * reconcile: a node already Ready gets its pod without waiting another turn.
 */
export function releaseWhenReady(o: Observed): Action[] {
  if (!o.node || !isNodeReady(o.node)) return [];
  return [{ kind: "releasePod", podUid: o.pod.metadata?.uid ?? "", node: o.vmName, report: { type: "Normal", reason: REASONS.PodReleased, message: `released onto node ${o.vmName}` } }];
}

/**
 * Ungate: a gated pod whose node is trusted, Ready and still passes verification (a node can rewrite its own status
 * after it was trusted) is released. Runs before registration.
 */
export function decideUngate(o: Observed): PhaseResult {
  if (!isGated(o.pod) || !isTrusted(o) || !nodeVerifies(o)) return SKIP;
  const release = releaseWhenReady(o);
  return release.length === 0 ? SKIP : act(release);
}
