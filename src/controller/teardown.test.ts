import { describe, expect, it } from "vitest";
import { REASONS } from "../api/conditions.ts";
import { DEFAULT_VM_NAME, makeNode, makeObserved, makePod, makeTokenSecret, makeUserDataSecret, makeVmi, NOW, type PodOptions } from "./fixtures.test-support.ts";
import { SKIP, type Action, type Observed } from "./observed.ts";
import { decideTeardown, deleteEverything, workloadStopDeadline } from "./teardown.ts";

const LEFTOVERS: Partial<Observed> = {
  vmi: makeVmi(),
  userDataSecret: makeUserDataSecret(),
  tokens: [makeTokenSecret(), makeTokenSecret({ id: "def456" })],
  node: makeNode({ trustedFor: "x" }),
};
const DELETE_ALL: Action[] = [
  { kind: "deleteVmi", namespace: "maroonedpods-vms", name: DEFAULT_VM_NAME },
  { kind: "deleteSecret", namespace: "maroonedpods-vms", name: `${DEFAULT_VM_NAME}-cloud-init` },
  { kind: "deleteSecret", namespace: "kube-system", name: "bootstrap-token-abc123" },
  { kind: "deleteSecret", namespace: "kube-system", name: "bootstrap-token-def456" },
  { kind: "deleteNode", name: DEFAULT_VM_NAME },
];

const FINISHED: [string, PodOptions][] = [
  ["Succeeded", { gated: false, phase: "Succeeded" }],
  ["Failed", { gated: false, phase: "Failed" }],
  ["being deleted while running", { gated: false, phase: "Running", deleting: true }],
  ["being deleted while still gated", { deleting: true }],
];

describe("decideTeardown: a finished pod", () => {
  it.each(FINISHED)("%s, with leftovers: deletes them all and looks again", (_, pod) => {
    expect(decideTeardown(makeObserved({ pod: makePod(pod), ...LEFTOVERS }))).toEqual({ kind: "act", actions: DELETE_ALL, requeueAfterMs: 2_000 });
  });

  it.each<[string, Partial<Observed>, Action[]]>([
    ["only the node", { node: makeNode() }, [{ kind: "deleteNode", name: DEFAULT_VM_NAME }]],
    ["only a token", { tokens: [makeTokenSecret()] }, [{ kind: "deleteSecret", namespace: "kube-system", name: "bootstrap-token-abc123" }]],
    ["only the VMI", { vmi: makeVmi({ phase: "Succeeded" }) }, [{ kind: "deleteVmi", namespace: "maroonedpods-vms", name: DEFAULT_VM_NAME }]],
  ])("with %s left", (_, leftovers, deletes) => {
    expect(decideTeardown(makeObserved({ pod: makePod({ gated: false, phase: "Succeeded" }), ...leftovers }))).toEqual({ kind: "act", actions: deletes, requeueAfterMs: 2_000 });
  });

  it.each(FINISHED)("%s, nothing left: TornDown and the finalizer goes", (_, pod) => {
    expect(decideTeardown(makeObserved({ pod: makePod(pod) }))).toEqual({
      kind: "act",
      actions: [{ kind: "removeFinalizer", report: { type: "Normal", reason: REASONS.TornDown, message: `VM ${DEFAULT_VM_NAME}, its node and its Secrets are gone` } }],
    });
  });

  it.each(FINISHED)("%s, nothing left and no finalizer: still teardown's, waiting (no other phase may act on it)", (_, pod) => {
    expect(decideTeardown(makeObserved({ pod: makePod({ ...pod, finalizer: false }) }))).toEqual({ kind: "wait" });
  });

  it("a deleting, gated pod that another finalizer holds: waits, so nothing launches for it", () => {
    const pod = makePod({ deleting: true, finalizer: false });
    pod.metadata = { ...pod.metadata, finalizers: ["example.com/hold"] };
    expect(decideTeardown(makeObserved({ pod }))).toEqual({ kind: "wait" });
  });

  it("deletes leftovers even without the finalizer", () => {
    expect(decideTeardown(makeObserved({ pod: makePod({ phase: "Failed", finalizer: false }), ...LEFTOVERS }))).toMatchObject({ kind: "act", actions: DELETE_ALL });
  });
});

describe("decideTeardown: a pod still running or waiting", () => {
  it.each<[string, PodOptions]>([
    ["gated, Pending", {}],
    ["released, Running", { gated: false, phase: "Running" }],
    ["phase Unknown", { gated: false, phase: "Unknown" }],
  ])("%s: not its turn", (_, pod) => {
    expect(decideTeardown(makeObserved({ pod: makePod(pod), ...LEFTOVERS }))).toEqual(SKIP);
  });
});

describe("deleteEverything", () => {
  it("deletes the user data Secret by its observed name and tokens in kube-system", () => {
    const userDataSecret = makeUserDataSecret({ vmName: "marooned-old-prefix" });
    expect(deleteEverything(makeObserved({ userDataSecret, tokens: [makeTokenSecret({ id: "zzz999" })] }))).toEqual([
      { kind: "deleteSecret", namespace: "maroonedpods-vms", name: "marooned-old-prefix-cloud-init" },
      { kind: "deleteSecret", namespace: "kube-system", name: "bootstrap-token-zzz999" },
    ]);
  });

  it.each<[string, Parameters<typeof makeNode>[0]]>([
    ["a node of that name that never carried the pod's UID", { podUidLabel: null }],
    ["a node of that name claiming another pod", { podUidLabel: "0a1b2c3d-4e5f-4a6b-8c7d-000000000000" }],
  ])("never deletes %s", (_, nodeOptions) => {
    expect(deleteEverything(makeObserved({ pod: makePod({ deleting: true }), node: makeNode(nodeOptions) }))).toEqual([]);
  });

  it("has nothing to delete when nothing exists", () => {
    expect(deleteEverything(makeObserved())).toEqual([]);
  });
});

describe("decideTeardown: a deleted pod whose containers may still be stopping", () => {
  const stopping = (phase: string, graceLeftMs: number, nodeReady = true): Observed => {
    const pod = makePod({ gated: false, phase: "Running" });
    pod.metadata = { ...pod.metadata, deletionTimestamp: new Date(NOW + graceLeftMs) };
    pod.spec = { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: DEFAULT_VM_NAME };
    pod.status = { ...pod.status, phase };
    const node = makeNode();
    if (!nodeReady) node.status = { ...node.status, conditions: [{ type: "Ready", status: "False" }] };
    return makeObserved({ ...LEFTOVERS, pod, node });
  };

  it("waits for the kubelet while the grace period runs, then tears down", () => {
    expect(decideTeardown(stopping("Running", 30_000))).toEqual({ kind: "wait", requeueAfterMs: 30_000 });
    expect(workloadStopDeadline(stopping("Running", 30_000))).toBe(NOW + 30_000);
  });

  it.each([
    ["the kubelet reported a terminal phase", stopping("Failed", 30_000)],
    ["the grace period is over", stopping("Running", -1)],
    ["the node is not Ready", stopping("Running", 30_000, false)],
  ])("does not wait when %s", (_, observed) => {
    expect(workloadStopDeadline(observed)).toBeUndefined();
    expect(decideTeardown(observed).kind).toBe("act");
  });
});
