import type { V1Node } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { POD_ANNOTATIONS, POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import { NODE_POD_UID_LABEL, TRUSTED_NODE_LABEL } from "../api/names.ts";
import {
  actionsOf,
  DEFAULT_VM_NAME,
  kindsOf,
  makeNode,
  makeObserved,
  makePod,
  makeTokenSecret,
  makeVmi,
  podCondition,
  POD_UID,
  registrationTaint,
  reportsOf,
  VM_IP,
} from "./fixtures.test-support.ts";
import { SKIP, type Observed } from "./observed.ts";
import { decideRegistration } from "./registration.ts";
import { isTrusted, verifyNode, vmiAddresses } from "./verification.ts";

const OTHER_UID = "99999999-8888-4777-8666-555555555555";
const TOKEN = makeTokenSecret();
/** A pod launched a minute ago, with the conditions given. */
const launchedPod = (...conditions: Parameters<typeof podCondition>) =>
  makePod({ attempts: 1, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "True", REASONS.VMCreated, { sinceMsAgo: 60_000 }), podCondition(...conditions)] });
const justLaunchedPod = () => makePod({ attempts: 1, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "True", REASONS.VMCreated, { sinceMsAgo: 60_000 })] });

/** A launched pod with its VMI running and a token still around. */
const waiting = (overrides: Partial<Observed> = {}): Observed => makeObserved({ pod: justLaunchedPod(), vmi: makeVmi(), tokens: [TOKEN], ...overrides });

const TRUSTED_MESSAGE = `node ${DEFAULT_VM_NAME} verified and labeled ${TRUSTED_NODE_LABEL}`;
const REGISTERED_MESSAGE = `node ${DEFAULT_VM_NAME} registered`;

describe("decideRegistration: not its turn", () => {
  it.each<[string, Partial<Observed>]>([
    ["a released pod", { pod: makePod({ gated: false }), node: makeNode() }],
    ["no VMI yet", { vmi: undefined, node: makeNode() }],
    ["a failed VMI (liveness replaces it)", { vmi: makeVmi({ phase: "Failed" }), node: makeNode() }],
  ])("%s", (_, overrides) => {
    expect(decideRegistration(waiting(overrides))).toEqual(SKIP);
  });
});

describe("decideRegistration: waiting for the node", () => {
  const message = `waiting for node ${DEFAULT_VM_NAME} to register`;

  /** Launched a minute ago: liveness gives up on the VM nine minutes on, and registration looks again just after. */
  const untilDeadline = 10 * 60_000 - 60_000 + 100;

  it("says so in NodeRegistered False WaitingForNode, and looks again at the registration deadline", () => {
    expect(decideRegistration(waiting())).toEqual({
      kind: "act",
      actions: [{ kind: "setCondition", condition: { type: POD_CONDITIONS.NodeRegistered, status: "False", reason: REASONS.WaitingForNode, message } }],
      requeueAfterMs: untilDeadline,
    });
  });

  it("waits when the pod already says so", () => {
    const pod = launchedPod(POD_CONDITIONS.NodeRegistered, "False", REASONS.WaitingForNode, { message });
    expect(decideRegistration(waiting({ pod }))).toEqual({ kind: "wait", requeueAfterMs: untilDeadline });
  });

  it("follows the fake clock to the deadline", () => {
    const pod = launchedPod(POD_CONDITIONS.NodeRegistered, "False", REASONS.WaitingForNode, { message });
    const o = waiting({ pod });
    expect(decideRegistration({ ...o, now: o.now + untilDeadline - 100 })).toEqual({ kind: "wait", requeueAfterMs: 100 });
  });
});

describe("decideRegistration: a node that fails verification", () => {
  it.each<[string, V1Node, V1VirtualMachineInstance, string]>([
    ["a foreign pod-uid label", makeNode({ podUidLabel: OTHER_UID }), makeVmi(), `label ${NODE_POD_UID_LABEL} is not ${POD_UID}`],
    ["no pod-uid label", makeNode({ podUidLabel: null }), makeVmi(), `label ${NODE_POD_UID_LABEL} is not ${POD_UID}`],
    ["no taint", makeNode({ taints: [] }), makeVmi(), `taint maroonedpods.io/dedicated=${POD_UID}:NoSchedule is missing`],
    ["a taint for another pod", makeNode({ taints: [registrationTaint(OTHER_UID)] }), makeVmi(), "is missing"],
    ["a taint with a weaker effect", makeNode({ taints: [{ ...registrationTaint(), effect: "PreferNoSchedule" }] }), makeVmi(), "is missing"],
    ["a taint under another key", makeNode({ taints: [registrationTaint(POD_UID, "example.com")] }), makeVmi(), "is missing"],
    ["a foreign InternalIP", makeNode({ internalIps: ["10.244.9.9"] }), makeVmi(), `InternalIP 10.244.9.9 is not among the VM's addresses (${VM_IP})`],
    ["one foreign InternalIP among two", makeNode({ internalIps: [VM_IP, "192.168.1.5"] }), makeVmi(), `InternalIP ${VM_IP},192.168.1.5 is not among`],
    ["no InternalIP", makeNode({ internalIps: [] }), makeVmi(), "it reports no InternalIP"],
    ["a VMI without addresses yet", makeNode(), makeVmi({ ips: [] }), "(none yet)"],
  ])("%s: NodeTrusted False and one Warning", (_, node, vmi, problem) => {
    const result = decideRegistration(waiting({ node, vmi }));
    expect(kindsOf(result)).toEqual(["setCondition"]);
    const [set] = actionsOf(result, "setCondition");
    expect(set?.condition).toMatchObject({ type: POD_CONDITIONS.NodeTrusted, status: "False", reason: REASONS.NodeVerificationFailed });
    expect(set?.condition.message).toContain(`node ${DEFAULT_VM_NAME} failed verification: `);
    expect(set?.condition.message).toContain(problem);
    expect(reportsOf(result)).toEqual([{ type: "Warning", reason: REASONS.NodeVerificationFailed, message: set?.condition.message }]);

    // The next reconcile sees the condition: no second Warning, nothing trusted, the token stays until replaced.
    const pod = launchedPod(POD_CONDITIONS.NodeTrusted, "False", REASONS.NodeVerificationFailed, { message: set?.condition.message ?? "" });
    expect(decideRegistration(waiting({ pod, node, vmi }))).toMatchObject({ kind: "wait" });
  });

  it("warns again when the problem changes", () => {
    const pod = launchedPod(POD_CONDITIONS.NodeTrusted, "False", REASONS.NodeVerificationFailed, { message: "node x failed verification: it reports no InternalIP" });
    const result = decideRegistration(waiting({ pod, node: makeNode({ taints: [] }) }));
    expect(kindsOf(result)).toEqual(["setCondition"]);
    expect(reportsOf(result)).toHaveLength(1);
  });

  it("never trusts a node that carries the trusted label for another pod", () => {
    const o = waiting({ node: makeNode({ trustedFor: OTHER_UID, podUidLabel: OTHER_UID }) });
    expect(isTrusted(o)).toBe(false);
    expect(actionsOf(decideRegistration(o), "trustNode")).toEqual([]);
  });
});

describe("decideRegistration: a verified node", () => {
  it("is trusted, its token deleted, and the pod records it; not Ready yet, so not released", () => {
    expect(decideRegistration(waiting({ node: makeNode({ ready: "False" }) }))).toEqual({
      kind: "act",
      actions: [
        { kind: "trustNode", name: DEFAULT_VM_NAME, podUid: POD_UID },
        { kind: "revokeToken", name: "bootstrap-token-abc123" },
        { kind: "setCondition", condition: { type: POD_CONDITIONS.NodeRegistered, status: "True", reason: REASONS.NodeRegistered, message: REGISTERED_MESSAGE } },
        { kind: "setCondition", condition: { type: POD_CONDITIONS.NodeTrusted, status: "True", reason: REASONS.NodeTrusted, message: TRUSTED_MESSAGE } },
      ],
    });
  });

  it("already Ready: released right after it is trusted, before the token and the records", () => {
    expect(kindsOf(decideRegistration(waiting({ node: makeNode() })))).toEqual([
      "trustNode", "releasePod", "revokeToken", "setCondition", "setCondition",
    ]);
    expect(actionsOf(decideRegistration(waiting({ node: makeNode() })), "releasePod")).toEqual([
      { kind: "releasePod", podUid: POD_UID, node: DEFAULT_VM_NAME, report: { type: "Normal", reason: REASONS.PodReleased, message: `released onto node ${DEFAULT_VM_NAME}` } },
    ]);
    // One Event: the trust is recorded by its condition, and reported by the release it allows.
    expect(reportsOf(decideRegistration(waiting({ node: makeNode() }))).map((r) => r.reason)).toEqual([REASONS.PodReleased]);
    expect(reportsOf(decideRegistration(waiting({ node: makeNode({ ready: "False" }) })))).toEqual([]);
  });

  it("never released when it fails verification, even Ready", () => {
    expect(kindsOf(decideRegistration(waiting({ node: makeNode({ internalIps: ["10.9.9.9"] }) })))).not.toContain("releasePod");
  });

  it("deletes every token labeled for the pod", () => {
    const tokens = [TOKEN, makeTokenSecret({ id: "def456" })];
    expect(actionsOf(decideRegistration(waiting({ node: makeNode(), tokens })), "revokeToken")).toEqual([
      { kind: "revokeToken", name: "bootstrap-token-abc123" },
      { kind: "revokeToken", name: "bootstrap-token-def456" },
    ]);
  });

  it("accepts an InternalIP listed only in the VMI's ipAddresses", () => {
    const vmi = makeVmi({ ips: ["10.244.1.1", "fd00::17"] });
    expect(kindsOf(decideRegistration(waiting({ node: makeNode({ internalIps: ["fd00::17"] }), vmi })))).toContain("trustNode");
  });

  it("does not set NodeRegistered again when it is True", () => {
    const pod = launchedPod(POD_CONDITIONS.NodeRegistered, "True", REASONS.NodeRegistered, { message: REGISTERED_MESSAGE });
    const conditions = actionsOf(decideRegistration(waiting({ pod, node: makeNode() })), "setCondition").map((a) => a.condition.type);
    expect(conditions).toEqual([POD_CONDITIONS.NodeTrusted]);
  });
});

describe("decideRegistration: an already trusted node", () => {
  const recorded = makePod({
    attempts: 1,
    annotations: { [POD_ANNOTATIONS.node]: DEFAULT_VM_NAME },
    conditions: [
      podCondition(POD_CONDITIONS.VMLaunched, "True", REASONS.VMCreated),
      podCondition(POD_CONDITIONS.NodeRegistered, "True", REASONS.NodeRegistered, { message: REGISTERED_MESSAGE }),
      podCondition(POD_CONDITIONS.NodeTrusted, "True", REASONS.NodeTrusted, { message: TRUSTED_MESSAGE }),
    ],
  });
  const trustedNode = makeNode({ trustedFor: POD_UID });

  it("with a leftover token: only deletes the token", () => {
    expect(decideRegistration(waiting({ pod: recorded, node: trustedNode }))).toEqual({
      kind: "act",
      actions: [{ kind: "revokeToken", name: "bootstrap-token-abc123" }],
    });
  });

  it("with nothing left and the node not Ready: waits for the node's Ready event", () => {
    expect(decideRegistration(waiting({ pod: recorded, node: makeNode({ trustedFor: POD_UID, ready: "False" }), tokens: [] }))).toEqual({ kind: "wait" });
  });

  it("whose pod never recorded it (a write failed after trustNode): records it, once, leaving the node annotation to the release", () => {
    const result = decideRegistration(waiting({ node: trustedNode, tokens: [] }));
    expect(result.kind === "act" && result.actions).toEqual([
      { kind: "setCondition", condition: { type: POD_CONDITIONS.NodeRegistered, status: "True", reason: REASONS.NodeRegistered, message: REGISTERED_MESSAGE } },
      { kind: "setCondition", condition: { type: POD_CONDITIONS.NodeTrusted, status: "True", reason: REASONS.NodeTrusted, message: TRUSTED_MESSAGE } },
    ]);
    expect(kindsOf(result)).not.toContain("trustNode");
    expect(reportsOf(result)).toEqual([]);
  });

  it("after the release: deletes a leftover token and records what the pod lacks, without verifying again", () => {
    const released = makePod({ gated: false, attempts: 1 });
    const result = decideRegistration(waiting({ pod: released, node: makeNode({ trustedFor: POD_UID, internalIps: ["10.9.9.9"] }) }));
    expect(kindsOf(result)).toEqual(["revokeToken", "setCondition", "setCondition", "annotatePod"]);
  });

  it("is re-verified: a trusted node that now fails keeps its pod's condition honest", () => {
    const result = decideRegistration(waiting({ pod: recorded, node: makeNode({ trustedFor: POD_UID, internalIps: ["10.9.9.9"] }) }));
    expect(kindsOf(result)).toEqual(["setCondition"]);
    expect(reportsOf(result)).toMatchObject([{ type: "Warning", reason: REASONS.NodeVerificationFailed }]);
    expect(actionsOf(result, "setCondition")[0]?.condition).toMatchObject({ type: POD_CONDITIONS.NodeTrusted, status: "False" });
  });
});

describe("verifyNode", () => {
  const verify = (node: V1Node, vmi: V1VirtualMachineInstance = makeVmi(), taintKeyPrefix = "maroonedpods.io") => verifyNode(node, vmi, DEFAULT_VM_NAME, POD_UID, taintKeyPrefix);

  it.each<[string, V1Node, string[]]>([
    ["a node that is what it claims", makeNode(), []],
    ["extra labels and taints are fine", makeNode({ taints: [registrationTaint(), { key: "node.kubernetes.io/not-ready", effect: "NoExecute" }] }), []],
    ["another name", makeNode({ name: "marooned-other" }), [`name marooned-other is not ${DEFAULT_VM_NAME}`]],
    ["a foreign label", makeNode({ podUidLabel: OTHER_UID }), [`label ${NODE_POD_UID_LABEL} is not ${POD_UID}`]],
    ["no taint", makeNode({ taints: [] }), [`taint maroonedpods.io/dedicated=${POD_UID}:NoSchedule is missing`]],
    ["no InternalIP", makeNode({ internalIps: [] }), ["it reports no InternalIP"]],
    ["a foreign InternalIP", makeNode({ internalIps: ["1.2.3.4"] }), [`InternalIP 1.2.3.4 is not among the VM's addresses (${VM_IP})`]],
    [
      "everything wrong at once",
      makeNode({ podUidLabel: null, taints: [], internalIps: [] }),
      [`label ${NODE_POD_UID_LABEL} is not ${POD_UID}`, `taint maroonedpods.io/dedicated=${POD_UID}:NoSchedule is missing`, "it reports no InternalIP"],
    ],
  ])("%s", (_, node, problems) => {
    expect(verify(node)).toEqual(problems);
  });

  it("checks the taint under the configured key prefix", () => {
    const node = makeNode({ taints: [registrationTaint(POD_UID, "example.com")] });
    expect(verify(node, makeVmi(), "example.com")).toEqual([]);
    expect(verify(node)).toHaveLength(1);
  });

  it("ignores ExternalIP and Hostname addresses", () => {
    const node = makeNode();
    node.status?.addresses?.push({ type: "ExternalIP", address: "203.0.113.7" });
    expect(verify(node)).toEqual([]);
  });
});

describe("vmiAddresses", () => {
  it.each<[string, V1VirtualMachineInstance, string[]]>([
    ["no status", { spec: { domain: { devices: {} } } }, []],
    ["ipAddress and ipAddresses, deduplicated", makeVmi({ ips: ["10.0.0.5", "fd00::5"] }), ["10.0.0.5", "fd00::5"]],
    ["several interfaces, empty addresses dropped", { spec: { domain: { devices: {} } }, status: { interfaces: [{ ipAddress: "" }, { ipAddress: "10.1.1.1" }, { ipAddresses: ["10.2.2.2"] }] } }, ["10.1.1.1", "10.2.2.2"]],
  ])("%s", (_, vmi, expected) => {
    expect([...vmiAddresses(vmi)]).toEqual(expected);
  });
});
