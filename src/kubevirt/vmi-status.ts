import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";

/** The happy-path phases virt-controller and virt-handler move a VMI through. */
export const BOOT_PHASES = ["Pending", "Scheduling", "Scheduled", "Running"] as const;
export type BootPhase = (typeof BOOT_PHASES)[number];

export type PhaseTransition = NonNullable<NonNullable<V1VirtualMachineInstance["status"]>["phaseTransitionTimestamps"]>[number];

/**
 * The status a VMI has after passing through `phases` (in order, all at `now`), its
 * transitions appended to those already `recorded`. Several phases at once let a
 * zero-delay boot be one write instead of one per phase.
 */
export function statusAfterPhases(
  recorded: readonly PhaseTransition[],
  phases: readonly [BootPhase | "Failed", ...(BootPhase | "Failed")[]],
  now: Date,
  facts: { ip: string; hostNode: string; reason?: string },
): Record<string, unknown> & { phaseTransitionTimestamps: PhaseTransition[] } {
  const at = now.toISOString();
  const phase = phases[phases.length - 1] ?? phases[0];
  const phaseTransitionTimestamps = [...recorded, ...phases.map((p) => ({ phase: p, phaseTransitionTimestamp: at }))];
  const status: Record<string, unknown> & { phaseTransitionTimestamps: PhaseTransition[] } = { phase, phaseTransitionTimestamps };
  if (phase === "Scheduled" || phase === "Running") status.nodeName = facts.hostNode;
  if (phase === "Running") {
    status.interfaces = [{ name: "default", ipAddress: facts.ip, ipAddresses: [facts.ip], interfaceName: "eth0", infoSource: "domain, guest-agent" }];
    status.conditions = [{ type: "Ready", status: "True", lastTransitionTime: at }];
  }
  if (phase === "Failed") {
    status.conditions = [{ type: "Ready", status: "False", reason: "GuestFailed", message: facts.reason ?? "failure injected", lastTransitionTime: at }];
  }
  return status;
}
