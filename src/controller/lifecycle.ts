import { decideClaim } from "./claim.ts";
import { decideNodeHealth } from "./health.ts";
import { decideLaunch } from "./launch.ts";
import { decideLiveness } from "./liveness.ts";
import { SKIP, type Observed, type PhaseResult } from "./observed.ts";
import { decideRegistration } from "./registration.ts";
import { decideTeardown } from "./teardown.ts";
import { decideUngate } from "./ungate.ts";

/**
 * The phases in the order they look at a pod. Teardown first: it owns every finished pod, so nothing after it ever
 * launches for one. Ungate before registration: a release must not wait while registration tidies up after a trust
 * it already wrote. Claim before launch: a pod that takes a warm pool VM launches none (with the pool off it always
 * skips). Health before registration: it writes only when a released pod's node changes readiness.
 */
const PHASES: readonly ((o: Observed, randomBytes: (n: number) => Uint8Array) => PhaseResult)[] = [
  decideTeardown,
  decideLiveness,
  decideClaim,
  decideLaunch,
  decideUngate,
  decideNodeHealth,
  decideRegistration,
];

/** One reconcile's decision, on plain data: the answer of the first phase that does not skip. */
export function decide(o: Observed, randomBytes: (n: number) => Uint8Array): PhaseResult {
  for (const phase of PHASES) {
    const result = phase(o, randomBytes);
    if (result.kind !== "skip") return result;
  }
  return SKIP;
}
