import { describe, expect, it } from "vitest";
import { POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import { DEFAULT_VM_NAME, makeNode, makeObserved, makePod, makeVmi, podCondition, POD_UID, reportsOf } from "./fixtures.test-support.ts";
import { decideNodeHealth } from "./health.ts";
import { SKIP, type Observed } from "./observed.ts";

const released = (overrides: Partial<Observed> = {}, ...conditions: Parameters<typeof podCondition>[]) =>
  makeObserved({ pod: makePod({ gated: false, phase: "Running", conditions: conditions.map((c) => podCondition(...c)) }), vmi: makeVmi(), ...overrides });
const NOT_READY = `node ${DEFAULT_VM_NAME} is not Ready; the pod stays on it`;

describe("decideNodeHealth", () => {
  it("a released pod whose node goes NotReady: NodeReady False and one Warning", () => {
    const result = decideNodeHealth(released({ node: makeNode({ trustedFor: POD_UID, ready: "False" }) }));
    expect(result).toEqual({
      kind: "act",
      actions: [{
        kind: "setCondition",
        condition: { type: POD_CONDITIONS.NodeReady, status: "False", reason: REASONS.NodeNotReady, message: NOT_READY },
        report: { type: "Warning", reason: REASONS.NodeNotReady, message: NOT_READY },
      }],
    });
  });

  it("says it once", () => {
    const o = released({ node: makeNode({ trustedFor: POD_UID, ready: "Unknown" }) }, [POD_CONDITIONS.NodeReady, "False", REASONS.NodeNotReady, { message: NOT_READY }]);
    expect(decideNodeHealth(o)).toEqual(SKIP);
  });

  it("says when it recovers, without a Warning", () => {
    const o = released({ node: makeNode({ trustedFor: POD_UID }) }, [POD_CONDITIONS.NodeReady, "False", REASONS.NodeNotReady, { message: NOT_READY }]);
    expect(decideNodeHealth(o)).toMatchObject({ kind: "act", actions: [{ condition: { status: "True", reason: REASONS.NodeReady } }] });
    expect(reportsOf(decideNodeHealth(o))).toEqual([]);
  });

  it.each<[string, Partial<Observed>]>([
    ["a Ready node that never faltered (no write)", { node: makeNode({ trustedFor: POD_UID }) }],
    ["a node that is not its own trusted node", { node: makeNode({ ready: "False" }) }],
    ["no node", { node: undefined }],
    ["a gated pod", { pod: makePod(), node: makeNode({ trustedFor: POD_UID, ready: "False" }) }],
  ])("skips %s", (_, overrides) => {
    expect(decideNodeHealth(released(overrides))).toEqual(SKIP);
  });
});
