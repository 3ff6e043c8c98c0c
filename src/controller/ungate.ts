import type { V1PodSpec, V1Toleration } from "@kubernetes/client-node";
import { dedicatedTaintKey, NODE_NOT_READY_TAINT_KEY, SCHEDULING_GATE, TRUSTED_NODE_LABEL } from "../api/names.ts";
import { isGated, isNodeReady, releaseActions, type Observed, type PhaseResult } from "./observed.ts";
import { isTrusted, verifyNode } from "./registration.ts";

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
 * Ungate: once the trusted node is Ready, one pod update makes the spec
 * `releasedSpec` describes. Never onto a node that is untrusted, NotReady, or no longer passes
 * verification (a node can rewrite its own status after it was trusted).
 * Runs before registration; registration releases in the same reconcile when the
 * node is already Ready as it is trusted.
 */
export function decideUngate(o: Observed): PhaseResult | undefined {
  if (!isGated(o.pod) || !o.node || !o.vmi || !isTrusted(o) || !isNodeReady(o.node)) return undefined;
  if (verifyNode(o.node, o.vmi, o.vmName, o.pod.metadata?.uid ?? "", o.config.taintKeyPrefix).length > 0) return undefined;
  return { actions: releaseActions(o) };
}
