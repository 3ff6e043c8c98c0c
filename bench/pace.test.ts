import { describe, expect, it } from "vitest";
import { arrivalOffsetsMs, nextPace, PACE, poolSizeFor, searchPace, startRate } from "./pace.ts";

describe("arrivalOffsetsMs", () => {
  it("spaces arrivals 1 / rate apart over the window", () => {
    expect(arrivalOffsetsMs(2, 3)).toEqual([0, 500, 1000, 1500, 2000, 2500]);
  });
  it("sends at least one pod however short the window", () => {
    expect(arrivalOffsetsMs(0.2, 1)).toEqual([0]);
  });
});

describe("the rate search", () => {
  it("starts at half the floor's throughput, to two decimals", () => {
    expect(startRate(7.83)).toBe(3.92);
    expect(startRate(0.1)).toBe(PACE.minimumRate);
  });
  it.each([
    { rate: 3.9, p99: 50, step: { kind: "accept", rate: 3.9 } },
    { rate: 3.9, p99: 51, step: { kind: "lower", rate: 2.73 } },
    { rate: 0.25, p99: 400, step: { kind: "lower", rate: PACE.minimumRate } },
    { rate: PACE.minimumRate, p99: 400, step: { kind: "at minimum", rate: PACE.minimumRate } },
    { rate: 1, p99: Number.NaN, step: { kind: "lower", rate: 0.7 } },
  ])("at $rate pods/s with the floor's p99 $p99 ms: $step.kind", ({ rate, p99, step }) => {
    expect(nextPace(rate, p99)).toEqual(step);
  });
});

describe("poolSizeFor", () => {
  it("holds a VM for every arrival of the window", () => {
    expect(poolSizeFor(1.5, 120)).toBe(180);
  });
});

describe("searchPace", () => {
  it("lowers the rate until the floor reacts within the limit, keeping every probe", async () => {
    const p99At = new Map([[4, 120], [2.8, 70], [1.96, 45]]);
    const search = await searchPace(8, (rate) => Promise.resolve({ rate, p99: p99At.get(rate) ?? Number.NaN }), (run) => run.p99);
    expect(search).toEqual({
      ratePerSecond: 1.96, chosenBy: "search",
      probes: [{ ratePerSecond: 4, floorReactionP99Ms: 120 }, { ratePerSecond: 2.8, floorReactionP99Ms: 70 }, { ratePerSecond: 1.96, floorReactionP99Ms: 45 }],
      run: { rate: 1.96, p99: 45 },
    });
  });
  it("stops at the minimum rate and says so", async () => {
    const search = await searchPace(0.5, () => Promise.resolve(500), (p99) => p99);
    expect(search.chosenBy).toBe("minimum");
    expect(search.ratePerSecond).toBe(PACE.minimumRate);
    expect(search.probes.map((p) => p.ratePerSecond)).toEqual([0.25, PACE.minimumRate]);
  });
});
