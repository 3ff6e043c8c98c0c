import { describe, expect, it } from "vitest";
import { checkTargets, TARGETS } from "./targets.ts";

describe("checkTargets", () => {
  const met = { controllerReactionP99Ms: 100, webhookApiServerP99Ms: 4, pipelineFloorRatio: 1.2, controllerPeakRssMiB: 150 };
  it("passes values at or under each limit", () => {
    expect(checkTargets({ ...met, pipelineFloorRatio: TARGETS.pipelineFloorRatio }).every((c) => c.met)).toBe(true);
  });
  it("misses a value over its limit", () => {
    const checks = checkTargets({ ...met, controllerReactionP99Ms: 251 });
    expect(checks.filter((c) => !c.met).map((c) => c.name)).toEqual(["controllerReactionP99Ms"]);
  });
  it("misses what could not be measured", () => {
    const checks = checkTargets({ ...met, webhookApiServerP99Ms: undefined, controllerPeakRssMiB: Number.NaN });
    expect(checks.filter((c) => !c.met).map((c) => [c.name, c.value])).toEqual([["webhookApiServerP99Ms", null], ["controllerPeakRssMiB", null]]);
  });
});
