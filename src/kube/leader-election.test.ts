import { V1MicroTime } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { decideLeaseAction, nextLeaseSpec, releasedLeaseSpec, type LeaseAction, type LeaseView } from "./leader-election.ts";

const NOW = Date.parse("2030-01-01T00:00:10.000Z");
const LEASE_MS = 15_000;
/** As the API server sends it: a string with microseconds. */
const ago = (ms: number): string => new Date(NOW - ms).toISOString().replace("Z", "123Z");
const heldBy = (holderIdentity: string | undefined, renewTime: Date | string | undefined, leaseDurationSeconds = 15): LeaseView => ({
  spec: { holderIdentity, renewTime, leaseDurationSeconds },
});

describe("decideLeaseAction", () => {
  it.each<[string, LeaseView | undefined, LeaseAction]>([
    ["no lease yet", undefined, "create"],
    ["we hold a fresh lease", heldBy("me", ago(1_000)), "renew"],
    ["we hold a lease that expired", heldBy("me", ago(60_000)), "renew"],
    ["another holds a fresh lease", heldBy("other", ago(1_000)), "wait"],
    ["another's lease 1 ms short of expiry", heldBy("other", new Date(NOW - LEASE_MS + 1)), "wait"],
    ["another's lease at expiry", heldBy("other", new Date(NOW - LEASE_MS)), "acquire"],
    ["another's lease long expired", heldBy("other", ago(60_000)), "acquire"],
    ["another's renewTime revived as a MicroTime", heldBy("other", new V1MicroTime(NOW - 1_000)), "wait"],
    ["a released lease, renewed just now", heldBy("", ago(0)), "acquire"],
    ["a lease with no holder field", heldBy(undefined, ago(0)), "acquire"],
    ["a lease with no spec", {}, "acquire"],
    ["another's lease with no renewTime", heldBy("other", undefined), "acquire"],
    ["another's lease with an unreadable renewTime", heldBy("other", "yesterday-ish"), "acquire"],
    ["the holder declared a longer lease than ours, past ours", heldBy("other", ago(20_000), 30), "wait"],
    ["the holder declared a longer lease than ours, past its own", heldBy("other", ago(30_000), 30), "acquire"],
    ["the holder declared a shorter lease than ours, past its own", heldBy("other", ago(5_000), 2), "wait"],
  ])("%s", (_case, lease, expected) => {
    expect(decideLeaseAction(lease, "me", NOW, LEASE_MS)).toBe(expected);
  });
});

describe("the Lease spec written", () => {
  const current = {
    holderIdentity: "other",
    acquireTime: new V1MicroTime(NOW - 50_000),
    renewTime: new V1MicroTime(NOW - 20_000),
    leaseDurationSeconds: 15,
    leaseTransitions: 4,
  };
  const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

  it("creating starts the transition count at zero", () => {
    expect(json(nextLeaseSpec("create", undefined, "me", NOW, LEASE_MS))).toEqual({
      holderIdentity: "me",
      leaseDurationSeconds: 15,
      acquireTime: "2030-01-01T00:00:10.000000Z",
      renewTime: "2030-01-01T00:00:10.000000Z",
      leaseTransitions: 0,
    });
  });

  it("taking over counts a transition and restamps acquireTime", () => {
    expect(json(nextLeaseSpec("acquire", current, "me", NOW, LEASE_MS))).toEqual({
      holderIdentity: "me",
      leaseDurationSeconds: 15,
      acquireTime: "2030-01-01T00:00:10.000000Z",
      renewTime: "2030-01-01T00:00:10.000000Z",
      leaseTransitions: 5,
    });
  });

  it("renewing moves only renewTime", () => {
    const ours = { ...current, holderIdentity: "me" };
    expect(json(nextLeaseSpec("renew", ours, "me", NOW, LEASE_MS))).toEqual({ ...json(ours), renewTime: "2030-01-01T00:00:10.000000Z" });
  });

  it("declares whole seconds, rounding a fractional lease up", () => {
    expect(nextLeaseSpec("create", undefined, "me", NOW, 1_500).leaseDurationSeconds).toBe(2);
  });

  it("releasing empties the holder and keeps the history", () => {
    expect(json(releasedLeaseSpec(current, NOW))).toEqual({
      ...json(current),
      holderIdentity: "",
      leaseDurationSeconds: 1,
      renewTime: "2030-01-01T00:00:10.000000Z",
    });
  });
});
