import type { V1Pod } from "@kubernetes/client-node";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { METRIC_NAMES } from "../api/metric-names.ts";
import { REASONS } from "../api/conditions.ts";
import type { PodCensus } from "./census.ts";

/** The Warning reasons the alert rules watch: a VM that failed or never became a trusted node, and the give-up. */
export const ALERTED_WARNINGS = { vmFailures: [REASONS.VMFailed, REASONS.VMDisappeared, REASONS.RegistrationTimedOut], exhausted: [REASONS.AttemptsExhausted] } as const;
const ALERTED_WARNING_REASONS = [...ALERTED_WARNINGS.vmFailures, ...ALERTED_WARNINGS.exhausted];

/** The lifecycle spans measured, named for the histogram's `phase` label. */
export type Span = "gateToVmCreated" | "gateToClaimed" | "vmCreatedToNodeTrusted" | "nodeTrustedToReleased" | "gateToReleased";

/** The warm pool's VMs by state, as its reconcile last counted them. */
export interface WarmPoolGauge {
  readonly booting: number;
  readonly available: number;
  readonly claimed: number;
}

export interface ControllerMetrics {
  /** A span measured from the pod's creation (when the webhook gated it). */
  observePhase(span: Span, pod: V1Pod, now: number): void;
  observeSince(span: Span, since: number | undefined, now: number): void;
  reconciled(seconds: number, failed: boolean): void;
  queueDepth(depth: number): void;
  /** From an event enqueueing a pod to a worker taking it up. */
  queueWait(seconds: number): void;
  teardown(): void;
  orphanRemoved(kind: string): void;
  leader(isLeader: boolean): void;
  /** An Event the controller recorded on a pod, counted by type and reason. */
  event(type: "Normal" | "Warning", reason: string): void;
  /** An Event the controller recorded, counted as a warm pool claim or miss when it is one. */
  warmPoolReport(reason: string): void;
  warmPool(counts: WarmPoolGauge): void;
}

const WARM_POOL_MISSES: readonly string[] = [REASONS.WarmPoolEmpty, REASONS.TooBigForWarmPool, REASONS.ChargedLessThanWarmVM];

export function createControllerMetrics(registry: Registry, vmsByPhase: () => Record<string, number>, pods: () => PodCensus): ControllerMetrics {
  const registers = [registry];
  const phases = new Histogram({
    name: METRIC_NAMES.phaseDuration,
    help: "Duration of each lifecycle span per pod: gate -> VM created, VM created -> node trusted, node trusted -> released, gate -> released.",
    labelNames: ["phase"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600],
    registers,
  });
  const errors = new Counter({ name: METRIC_NAMES.reconcileErrors, help: "Reconciles that failed and were requeued with backoff.", registers });
  const duration = new Histogram({
    name: METRIC_NAMES.reconcileDuration,
    help: "Time one reconcile of one pod took.",
    labelNames: ["result"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers,
  });
  const depth = new Gauge({ name: METRIC_NAMES.queueDepth, help: "Pod keys waiting in the work queue.", registers });
  const wait = new Histogram({
    name: METRIC_NAMES.queueWait,
    help: "Time from an event enqueueing a pod until a worker picks it up.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers,
  });
  const teardowns = new Counter({ name: METRIC_NAMES.teardowns, help: "Pods whose VM, node and Secrets were torn down.", registers });
  const orphans = new Counter({ name: METRIC_NAMES.orphansRemoved, help: "Objects removed because their pod no longer exists, by kind.", labelNames: ["kind"] as const, registers });
  const leader = new Gauge({ name: METRIC_NAMES.isLeader, help: "1 while this replica holds the leader lease.", registers });
  new Gauge({
    name: METRIC_NAMES.vms,
    help: "VirtualMachineInstances the controller owns, by phase.",
    labelNames: ["phase"] as const,
    registers,
    collect() {
      this.reset();
      for (const [phase, count] of Object.entries(vmsByPhase())) this.set({ phase }, count);
    },
  });
  new Gauge({
    name: METRIC_NAMES.pods,
    help: "Managed pods by where they stand: WaitingForVM (gated), their pod phase once released, Terminating.",
    labelNames: ["phase"] as const,
    registers,
    collect() {
      this.reset();
      for (const [phase, count] of Object.entries(pods().byStanding)) this.set({ phase }, count);
    },
  });
  new Gauge({
    name: METRIC_NAMES.oldestGatedPodAge,
    help: "Seconds the longest-waiting gated pod has waited for its VM node since creation; 0 when none waits.",
    registers,
    collect() {
      this.set(pods().oldestGatedSeconds);
    },
  });
  const events = new Counter({ name: METRIC_NAMES.events, help: "Events recorded on pods, by type and reason.", labelNames: ["type", "reason"] as const, registers });
  // Present at 0 from the start, so that increase() sees the first one (a series born at 1 shows no increase).
  for (const reason of ALERTED_WARNING_REASONS) events.inc({ type: "Warning", reason }, 0);
  const poolVms = new Gauge({ name: METRIC_NAMES.warmPoolVms, help: "Warm pool VMs by state: booting, available (verified and Ready, unclaimed), claimed.", labelNames: ["state"] as const, registers });
  const claims = new Counter({ name: METRIC_NAMES.warmPoolClaims, help: "Pods that claimed a warm pool VM.", registers });
  const misses = new Counter({ name: METRIC_NAMES.warmPoolMisses, help: "Pods that launched their own VM with the warm pool on, by reason.", labelNames: ["reason"] as const, registers });
  const observeSince = (span: Span, since: number | undefined, now: number) => {
    if (since !== undefined && now >= since) phases.observe({ phase: span }, (now - since) / 1000);
  };
  return {
    observePhase: (span, pod, now) => {
      const created = pod.metadata?.creationTimestamp;
      observeSince(span, created === undefined ? undefined : new Date(created).getTime(), now);
    },
    observeSince,
    reconciled: (seconds, failed) => {
      duration.observe({ result: failed ? "error" : "ok" }, seconds);
      if (failed) errors.inc();
    },
    queueDepth: (value) => { depth.set(value); },
    queueWait: (seconds) => {
      wait.observe(seconds);
    },
    teardown: () => { teardowns.inc(); },
    orphanRemoved: (kind) => { orphans.inc({ kind }); },
    leader: (isLeader) => { leader.set(isLeader ? 1 : 0); },
    event: (type, reason) => { events.inc({ type, reason }); },
    warmPoolReport: (reason) => {
      if (reason === REASONS.WarmVMClaimed) claims.inc();
      else if (WARM_POOL_MISSES.includes(reason)) misses.inc({ reason });
    },
    warmPool: (counts) => {
      poolVms.set({ state: "booting" }, counts.booting);
      poolVms.set({ state: "available" }, counts.available);
      poolVms.set({ state: "claimed" }, counts.claimed);
    },
  };
}
