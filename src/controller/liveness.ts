import { POD_CONDITIONS, REASONS, type Reason } from "../api/conditions.ts";
import { act, attemptsOf, conditionOf, conditionSince, isGated, SKIP, warning, type Observed, type PhaseResult } from "./observed.ts";
import { deleteEverything } from "./teardown.ts";
import { isTrusted } from "./verification.ts";

/** Why the VM for a waiting pod must be replaced, or undefined when it is healthy or still in time. */
export function replacementReason(o: Observed): { reason: Reason; message: string } | undefined {
  const launched = conditionOf(o.pod, POD_CONDITIONS.VMLaunched);
  if (launched?.status !== "True") return undefined;
  if (!o.vmi) return { reason: REASONS.VMDisappeared, message: `VM ${o.vmName} disappeared` };
  if (o.vmi.status?.phase === "Failed") return { reason: REASONS.VMFailed, message: `VM ${o.vmName} failed` };
  const since = conditionSince(o.pod, POD_CONDITIONS.VMLaunched) ?? o.now;
  if (!isTrusted(o) && o.now - since > o.config.registrationTimeoutMs) {
    return { reason: REASONS.RegistrationTimedOut, message: `no verified node for VM ${o.vmName} within ${o.config.registrationTimeoutMs / 1000}s` };
  }
  return undefined;
}

/**
 * Liveness: a VM that failed, vanished or never produced a verified node is
 * deleted; launch then replaces it, with backoff, up to maxAttempts. After the
 * last attempt the pod stays gated with VMLaunched False and a Warning.
 * Registration looks again when the registration deadline passes.
 */
export function decideLiveness(o: Observed): PhaseResult {
  if (!isGated(o.pod)) return SKIP;
  const problem = replacementReason(o);
  if (!problem) return SKIP;
  const exhausted = attemptsOf(o.pod) >= o.config.maxAttempts;
  const reason = exhausted ? REASONS.AttemptsExhausted : problem.reason;
  const message = exhausted ? `${problem.message}; gave up after ${attemptsOf(o.pod)} attempts` : `${problem.message}; replacing it`;
  const condition = { type: POD_CONDITIONS.VMLaunched, status: "False", reason, message } as const;
  return act([...deleteEverything(o), { kind: "setCondition", condition, report: warning(condition) }]);
}
