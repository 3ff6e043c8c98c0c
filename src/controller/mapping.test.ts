import { describe, expect, it } from "vitest";
import { NODE_POD_UID_LABEL } from "../api/names.ts";
import { DEFAULT_VM_NAME, defaultConfig, makeNode, makeTokenSecret, makeUserDataSecret, makeVmi, POD_NAME, POD_NAMESPACE, POD_UID } from "./fixtures.test-support.ts";
import { findOrphans, isControllerNode, podKeyOf, podKeyOfOwned, podUidOfNode, podUidOfOwned, type OrphanCandidate } from "./mapping.ts";

type Meta = Parameters<typeof podKeyOfOwned>[0];
const KEY = `${POD_NAMESPACE}/${POD_NAME}`;

describe("podKeyOfOwned", () => {
  it.each<[string, Meta, string | undefined]>([
    ["a VMI", makeVmi(), KEY],
    ["a user-data Secret", makeUserDataSecret(), KEY],
    ["a token Secret", makeTokenSecret(), KEY],
    ["no metadata", {}, undefined],
    ["the namespace label only", { metadata: { labels: { "maroonedpods.io/pod-namespace": "ns" } } }, undefined],
    ["the name annotation only", { metadata: { annotations: { "maroonedpods.io/pod-name": "p" } } }, undefined],
    ["an empty namespace", { metadata: { labels: { "maroonedpods.io/pod-namespace": "" }, annotations: { "maroonedpods.io/pod-name": "p" } } }, undefined],
    ["its own namespace is not the pod's", { metadata: { namespace: "maroonedpods-vms", labels: { "maroonedpods.io/pod-namespace": "ns" }, annotations: { "maroonedpods.io/pod-name": "p" } } }, "ns/p"],
  ])("%s", (_, object, key) => {
    expect(podKeyOfOwned(object)).toBe(key);
  });
});

describe("podKeyOf", () => {
  it.each<[Meta, string | undefined]>([
    [{ metadata: { namespace: "ns", name: "p" } }, "ns/p"],
    [{ metadata: { name: "p" } }, undefined],
    [{ metadata: { namespace: "ns" } }, undefined],
    [{}, undefined],
  ])("%j", (pod, key) => {
    expect(podKeyOf(pod)).toBe(key);
  });
});

describe("podUidOfNode and podUidOfOwned", () => {
  it.each<[string, Meta, string | undefined]>([
    ["a registered node", makeNode(), POD_UID],
    ["a node without the label", makeNode({ podUidLabel: null }), undefined],
    ["a node of someone else", { metadata: { name: "worker-1", labels: { "kubernetes.io/hostname": "worker-1" } } }, undefined],
  ])("podUidOfNode: %s", (_, node, uid) => {
    expect(podUidOfNode(node)).toBe(uid);
  });

  it("reads the node's own label, not the trusted one", () => {
    expect(podUidOfNode({ metadata: { labels: { "node-restriction.kubernetes.io/maroonedpods-pod-uid": POD_UID } } })).toBeUndefined();
    expect(podUidOfNode({ metadata: { labels: { [NODE_POD_UID_LABEL]: "u" } } })).toBe("u");
  });

  it.each<[string, Meta, string | undefined]>([
    ["a VMI", makeVmi(), POD_UID],
    ["a token", makeTokenSecret({ podUid: "other" }), "other"],
    ["something unlabeled", { metadata: { name: "x" } }, undefined],
  ])("podUidOfOwned: %s", (_, object, uid) => {
    expect(podUidOfOwned(object)).toBe(uid);
  });
});

describe("isControllerNode", () => {
  it.each<[string, Meta, boolean]>([
    ["the node of a pod's VM", makeNode(), true],
    ["a node without the pod-uid label", makeNode({ podUidLabel: null }), false],
    ["a shared worker whose kubelet labeled itself with a pod UID", { metadata: { name: "worker-1", labels: { [NODE_POD_UID_LABEL]: POD_UID } } }, false],
    ["a node named for one pod, labeled with another", { metadata: { name: DEFAULT_VM_NAME, labels: { [NODE_POD_UID_LABEL]: "0a1b2c3d-0000-4a6b-8c7d-9e0f1a2b3c4d" } } }, false],
    ["a node under another prefix", { metadata: { name: `other-${POD_UID}`, labels: { [NODE_POD_UID_LABEL]: POD_UID } } }, false],
  ])("%s: %s", (_, node, expected) => {
    expect(isControllerNode(node, defaultConfig())).toBe(expected);
  });
});

describe("findOrphans", () => {
  const candidate = (kind: OrphanCandidate["kind"], podUid: string | undefined, name = DEFAULT_VM_NAME): OrphanCandidate => ({
    kind,
    namespace: kind === "Node" ? undefined : "maroonedpods-vms",
    name,
    podUid,
  });
  const live = new Set([POD_UID]);

  it.each<[string, OrphanCandidate[], OrphanCandidate[]]>([
    ["nothing", [], []],
    ["everything of a live pod stays", [candidate("VirtualMachineInstance", POD_UID), candidate("Secret", POD_UID), candidate("BootstrapToken", POD_UID), candidate("Node", POD_UID)], []],
    ["everything of a gone pod goes", [candidate("VirtualMachineInstance", "gone"), candidate("Node", "gone")], [candidate("VirtualMachineInstance", "gone"), candidate("Node", "gone")]],
    ["objects without a pod UID are not ours to judge", [candidate("Node", undefined, "worker-1"), candidate("Secret", undefined)], []],
    ["a mix", [candidate("Secret", POD_UID), candidate("BootstrapToken", "gone", "bootstrap-token-abc123"), candidate("Node", undefined)], [candidate("BootstrapToken", "gone", "bootstrap-token-abc123")]],
  ])("%s", (_, candidates, orphans) => {
    expect(findOrphans(candidates, live)).toEqual(orphans);
  });

  it("treats every owned object as orphaned when no pod is live", () => {
    expect(findOrphans([candidate("Secret", POD_UID)], new Set())).toHaveLength(1);
  });
});
