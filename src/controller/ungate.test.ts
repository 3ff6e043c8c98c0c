import { applyPatch, deepClone, type Operation } from "fast-json-patch";
import { describe, expect, it } from "vitest";
import { POD_ANNOTATIONS, REASONS } from "../api/conditions.ts";
import { DEFAULT_VM_NAME, makeNode, makeObserved, makePod, makeVmi, POD_UID } from "./fixtures.test-support.ts";
import { SKIP, type Observed } from "./observed.ts";
import { SCHEDULING_GATE, TRUSTED_NODE_LABEL } from "../api/names.ts";
import { decideUngate, releasedSpec, releasePatch } from "./ungate.ts";

const OTHER_UID = "99999999-8888-4777-8666-555555555555";

describe("decideUngate", () => {
  it("releases a gated pod onto its trusted, Ready node in one action", () => {
    const o = makeObserved({ vmi: makeVmi(), node: makeNode({ trustedFor: POD_UID }) });
    expect(decideUngate(o)).toEqual({
      kind: "act",
      actions: [{ kind: "releasePod", podUid: POD_UID, node: DEFAULT_VM_NAME, report: { type: "Normal", reason: REASONS.PodReleased, message: `released onto node ${DEFAULT_VM_NAME}` } }],
    });
  });

  it.each<[string, Partial<Observed>]>([
    ["no node", { node: undefined }],
    ["an untrusted node, even Ready", { node: makeNode() }],
    ["a node trusted for another pod", { node: makeNode({ trustedFor: OTHER_UID }) }],
    ["a trusted node that is NotReady", { node: makeNode({ trustedFor: POD_UID, ready: "False" }) }],
    ["a trusted node whose readiness is Unknown", { node: makeNode({ trustedFor: POD_UID, ready: "Unknown" }) }],
    ["a trusted node without a Ready condition", { node: makeNode({ trustedFor: POD_UID, ready: undefined }) }],
    ["a pod already released", { pod: makePod({ gated: false }), node: makeNode({ trustedFor: POD_UID }) }],
    ["a trusted node that no longer passes verification", { node: makeNode({ trustedFor: POD_UID, internalIps: ["10.9.9.9"] }) }],
    ["no VMI to verify the node against", { vmi: undefined, node: makeNode({ trustedFor: POD_UID }) }],
  ])("does nothing with %s", (_, overrides) => {
    expect(decideUngate(makeObserved({ vmi: makeVmi(), ...overrides }))).toEqual(SKIP);
  });
});

describe("releasedSpec", () => {
  const dedicated = { key: "maroonedpods.io/dedicated", operator: "Equal", value: POD_UID, effect: "NoSchedule" };
  const notReady = { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" };

  it("pins the pod to its trusted node, tolerates its own taint and the not-ready one, and drops only its gate", () => {
    const otherGate = { name: "example.com/other" };
    const tenantToleration = { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 };
    const spec = releasedSpec(
      { containers: [{ name: "app" }], nodeSelector: { zone: "a" }, tolerations: [tenantToleration], schedulingGates: [{ name: SCHEDULING_GATE }, otherGate] },
      POD_UID,
      "maroonedpods.io",
    );
    expect(spec).toEqual({
      containers: [{ name: "app" }],
      nodeSelector: { zone: "a", [TRUSTED_NODE_LABEL]: POD_UID },
      tolerations: [tenantToleration, dedicated, notReady],
      schedulingGates: [otherGate],
    });
  });

  it("adds no toleration twice, counting an omitted operator as Equal", () => {
    const stored = [{ key: dedicated.key, value: POD_UID, effect: "NoSchedule" }, notReady];
    expect(releasedSpec({ containers: [], tolerations: stored }, POD_UID, "maroonedpods.io").tolerations).toEqual(stored);
  });
});

describe("releasePatch", () => {
  const base = makePod();
  const tolerated = [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }];
  const gated = { ...base, spec: { ...base.spec, containers: base.spec?.containers ?? [], tolerations: tolerated } };
  type PodLike = typeof gated;
  const apply = (target: PodLike, ops: ReturnType<typeof releasePatch>): PodLike => applyPatch(deepClone(target) as PodLike, ops as Operation[], true, false).newDocument;

  it("turns the pod it was decided on into its released form and records its node", () => {
    const patched = apply(gated, releasePatch(gated, POD_UID, "maroonedpods.io", DEFAULT_VM_NAME));
    expect(patched.spec).toEqual(releasedSpec(gated.spec, POD_UID, "maroonedpods.io"));
    expect(patched.metadata?.annotations).toEqual({ ...gated.metadata?.annotations, [POD_ANNOTATIONS.node]: DEFAULT_VM_NAME });
  });

  it("gives a pod with no annotations the whole map, behind a test that it is still absent", () => {
    const bare = { ...gated, metadata: { ...gated.metadata, annotations: undefined } };
    const ops = releasePatch(bare, POD_UID, "maroonedpods.io", DEFAULT_VM_NAME);
    // The API server's JSON patch passes a null test on a missing member (test/controller.test.ts releases such a pod).
    expect(ops.filter((op) => op.path.startsWith("/metadata/annotations"))).toEqual([
      { op: "test", path: "/metadata/annotations", value: null },
      { op: "add", path: "/metadata/annotations", value: { [POD_ANNOTATIONS.node]: DEFAULT_VM_NAME } },
    ]);
    // An annotation written since fails the release rather than go.
    expect(() => apply({ ...bare, metadata: { ...bare.metadata, annotations: { other: "x" } } }, ops)).toThrow(/test/i);
  });

  it("still applies after status and annotation writes, which a resourceVersion guard would have refused", () => {
    const ops = releasePatch(gated, POD_UID, "maroonedpods.io", DEFAULT_VM_NAME);
    const later = { ...gated, metadata: { ...gated.metadata, resourceVersion: "999", annotations: { other: "x" } }, status: { conditions: [] } };
    expect(() => apply(later, ops)).not.toThrow();
  });

  it.each<[string, (pod: PodLike) => PodLike]>([
    ["another pod by the same name", (p) => ({ ...p, metadata: { ...p.metadata, uid: "another-uid" } })],
    ["a pod released meanwhile", (p) => ({ ...p, spec: { ...p.spec, schedulingGates: [] } })],
    ["tolerations changed since", (p) => ({ ...p, spec: { ...p.spec, tolerations: [] } })],
  ])("fails its tests on %s", (_, change) => {
    expect(() => apply(change(gated), releasePatch(gated, POD_UID, "maroonedpods.io", DEFAULT_VM_NAME))).toThrow(/test/i);
  });
});
