import { POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import { act, conditionOf, isGated, isNodeReady, setConditionIfChanged, SKIP, warning, type Observed, type PhaseResult } from "./observed.ts";
import { isTrusted } from "./verification.ts";

/**
 * Health: a released pod stays on its node whatever happens to it (nothing ever moves it elsewhere), so when that
 * node stops being Ready its owner is told, in NodeReady False and a Warning, and told again when it recovers. A
 * node that never faltered costs no write; otherwise the pod is not this phase's.
 */
export function decideNodeHealth(o: Observed): PhaseResult {
  if (isGated(o.pod) || !o.node || !isTrusted(o)) return SKIP;
  if (isNodeReady(o.node)) {
    if (conditionOf(o.pod, POD_CONDITIONS.NodeReady)?.status !== "False") return SKIP;
    return act([{ kind: "setCondition", condition: { type: POD_CONDITIONS.NodeReady, status: "True", reason: REASONS.NodeReady, message: `node ${o.vmName} is Ready again` } }]);
  }
  const condition = { type: POD_CONDITIONS.NodeReady, status: "False", reason: REASONS.NodeNotReady, message: `node ${o.vmName} is not Ready; the pod stays on it` } as const;
  const changed = setConditionIfChanged(o.pod, condition, warning(condition));
  return changed.length === 0 ? SKIP : act(changed);
}
