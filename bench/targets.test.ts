import { describe, expect, it } from "vitest";
import { checkTargets, TARGETS } from "./targets.ts";

describe("checkTargets", () => {
  const met = { pipelineFloorRatio: 1.1, pacedControllerReactionP99Ms: 40, pacedWebhookApiServerP99Ms: 4, claimedCreateToRunningP99Ms: 600, controllerPeakRssMiB: 150 };
  it("passes values at or under each limit", () => {
    expect(checkTargets({ ...met, pipelineFloorRatio: TARGETS.pipelineFloorRatio }).every((c) => c.met)).toBe(true);
  });
  it("misses a value over its limit", () => {
    const checks = checkTargets({ ...met, pacedControllerReactionP99Ms: 101 });
    expect(checks.filter((c) => !c.met).map((c) => c.name)).toEqual(["pacedControllerReactionP99Ms"]);
  });
  it("misses what could not be measured", () => {
    const checks = checkTargets({ ...met, pacedWebhookApiServerP99Ms: undefined, controllerPeakRssMiB: Number.NaN });
    expect(checks.filter((c) => !c.met).map((c) => [c.name, c.value])).toEqual([["pacedWebhookApiServerP99Ms", null], ["controllerPeakRssMiB", null]]);
  });
});
