import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { METRIC_NAMES } from "../api/metric-names.ts";
import type { PodCensus } from "./census.ts";
import { ALERTED_WARNINGS, createControllerMetrics } from "./metrics.ts";

describe("the controller's metrics", () => {
  it("reports the pod census at scrape time: pods by phase and the oldest gated pod's wait", async () => {
    const registry = new Registry();
    let census: PodCensus = { byStanding: { WaitingForVM: 2, Running: 1 }, oldestGatedSeconds: 42 };
    createControllerMetrics(registry, () => ({}), () => census);
    const first = await registry.metrics();
    expect(first).toContain(`${METRIC_NAMES.pods}{phase="WaitingForVM"} 2`);
    expect(first).toContain(`${METRIC_NAMES.pods}{phase="Running"} 1`);
    expect(first).toContain(`${METRIC_NAMES.oldestGatedPodAge} 42`);
    census = { byStanding: { Running: 3 }, oldestGatedSeconds: 0 };
    const second = await registry.metrics();
    expect(second).not.toContain('phase="WaitingForVM"');
    expect(second).toContain(`${METRIC_NAMES.oldestGatedPodAge} 0`);
  });

  it("counts Events by type and reason, with the alerted Warning reasons present at 0 before the first", async () => {
    const registry = new Registry();
    const metrics = createControllerMetrics(registry, () => ({}), () => ({ byStanding: {}, oldestGatedSeconds: 0 }));
    const before = await registry.metrics();
    for (const reason of [...ALERTED_WARNINGS.vmFailures, ...ALERTED_WARNINGS.exhausted]) expect(before).toContain(`${METRIC_NAMES.events}{type="Warning",reason="${reason}"} 0`);
    metrics.event("Warning", "VMFailed");
    metrics.event("Normal", "PodReleased");
    const after = await registry.metrics();
    expect(after).toContain(`${METRIC_NAMES.events}{type="Warning",reason="VMFailed"} 1`);
    expect(after).toContain(`${METRIC_NAMES.events}{type="Normal",reason="PodReleased"} 1`);
  });

  it("counts warm pool claims and misses by reason from the Events reported, and the pool's VMs by state", async () => {
    const registry = new Registry();
    const metrics = createControllerMetrics(registry, () => ({}), () => ({ byStanding: {}, oldestGatedSeconds: 0 }));
    metrics.warmPoolReport("WarmVMClaimed");
    metrics.warmPoolReport("WarmPoolEmpty");
    metrics.warmPoolReport("TooBigForWarmPool");
    metrics.warmPoolReport("PodReleased");
    metrics.warmPool({ booting: 1, available: 2, claimed: 3 });
    const text = await registry.metrics();
    expect(text).toContain(`${METRIC_NAMES.warmPoolClaims} 1`);
    expect(text).toContain(`${METRIC_NAMES.warmPoolMisses}{reason="WarmPoolEmpty"} 1`);
    expect(text).toContain(`${METRIC_NAMES.warmPoolMisses}{reason="TooBigForWarmPool"} 1`);
    expect(text).toContain(`${METRIC_NAMES.warmPoolVms}{state="available"} 2`);
    expect(text).toContain(`${METRIC_NAMES.warmPoolVms}{state="claimed"} 3`);
  });
});
