import fastJsonPatch, { type Operation } from "fast-json-patch";
import { describe, expect, it } from "vitest";
import type { AdmissionOperation, AdmissionRequest, GroupVersionKind, JsonPatchOperation } from "../src/admission/review.ts";
import { CLEANUP_FINALIZER, DEFAULT_RUNTIME_CLASS, MANAGED_LABEL, MAROON_LABEL, SCHEDULING_GATE } from "../src/api/names.ts";
import { decideMutation, isSelected, withIsolationDefaults, type MutationDecision, type PodObject } from "./mutation.ts";
import { DEFAULT_ADMISSION_SETTINGS, type AdmissionSettings } from "./settings.ts";

const POD_KIND: GroupVersionKind = { group: "", version: "v1", kind: "Pod" };
const settings = DEFAULT_ADMISSION_SETTINGS;

/** A pod as the API server sends it at CREATE, selected by the default label unless told otherwise. */
function pod(overrides: { labels?: Record<string, string>; finalizers?: string[]; spec?: Record<string, unknown> } = {}): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      namespace: "tenant-a",
      generateName: "web-7d4b9c-",
      labels: overrides.labels ?? { app: "web", [MAROON_LABEL]: "true" },
      ...(overrides.finalizers ? { finalizers: overrides.finalizers } : {}),
      annotations: { "example.com/note": "keep me" },
    },
    spec: {
      containers: [{ name: "web", image: "nginx:1.27", resources: { requests: { cpu: "250m", memory: "64Mi" } } }],
      restartPolicy: "Always",
      ...overrides.spec,
    },
    status: {},
  };
}

function request(object: unknown, overrides: { operation?: AdmissionOperation; kind?: GroupVersionKind } = {}): AdmissionRequest {
  return {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    kind: overrides.kind ?? POD_KIND,
    resource: { group: "", version: "v1", resource: "pods" },
    operation: overrides.operation ?? "CREATE",
    namespace: "tenant-a",
    object,
    userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
  };
}

function patchOf(decision: MutationDecision): readonly JsonPatchOperation[] {
  if (decision.kind !== "patch") throw new Error(`expected a patch, got ${JSON.stringify(decision)}`);
  return decision.operations;
}

/** Applies the operations to a copy of `original`, as the API server would, leaving `original` untouched. */
function apply(original: PodObject, operations: readonly JsonPatchOperation[]): PodObject {
  return fastJsonPatch.applyPatch(structuredClone(original), operations as Operation[], true, true).newDocument;
}

/** What the webhook promises to add, removed again, so the rest can be compared with the original. */
function withoutIsolationDefaults(patched: PodObject): PodObject {
  const copy = structuredClone(patched);
  const metadata = copy.metadata ?? {};
  const spec = copy.spec ?? {};
  if (metadata.labels) metadata.labels = Object.fromEntries(Object.entries(metadata.labels).filter(([key]) => key !== MANAGED_LABEL));
  if (metadata.finalizers) metadata.finalizers = metadata.finalizers.filter((f) => f !== CLEANUP_FINALIZER);
  if (spec.schedulingGates) spec.schedulingGates = spec.schedulingGates.filter((g) => g.name !== SCHEDULING_GATE);
  return copy;
}

/** The RuntimeClass the webhook gives a pod that names none, as the patched pod carries it. */
function withoutGivenRuntimeClass(patched: PodObject, original: PodObject): PodObject {
  const copy = structuredClone(patched);
  if (copy.spec && original.spec?.runtimeClassName === undefined) delete copy.spec.runtimeClassName;
  return copy;
}

describe("isSelected", () => {
  const custom: AdmissionSettings = { ...settings, triggerLabel: { key: "example.com/sandbox", value: "vm" }, runtimeClassName: "kata-vm" };

  it.each<[string, PodObject, AdmissionSettings, boolean]>([
    ["the default label", pod(), settings, true],
    ["the default RuntimeClass", pod({ labels: {}, spec: { runtimeClassName: "marooned" } }), settings, true],
    ["both label and RuntimeClass", pod({ spec: { runtimeClassName: "marooned" } }), settings, true],
    ["the label with another value", pod({ labels: { [MAROON_LABEL]: "false" } }), settings, false],
    ["the label with a capitalised value", pod({ labels: { [MAROON_LABEL]: "True" } }), settings, false],
    ["the value under another key", pod({ labels: { "maroonedpods.io/other": "true" } }), settings, false],
    ["another RuntimeClass", pod({ labels: {}, spec: { runtimeClassName: "runc" } }), settings, false],
    ["a null RuntimeClass", pod({ labels: {}, spec: { runtimeClassName: null } }), settings, false],
    ["no labels and no RuntimeClass", { spec: { containers: [] } }, settings, false],
    ["the custom label", pod({ labels: { "example.com/sandbox": "vm" } }), custom, true],
    ["the custom RuntimeClass", pod({ labels: {}, spec: { runtimeClassName: "kata-vm" } }), custom, true],
    ["the default label under custom settings", pod(), custom, false],
    ["the default RuntimeClass under custom settings", pod({ labels: {}, spec: { runtimeClassName: "marooned" } }), custom, false],
  ])("%s -> %s", (_name, object, s, expected) => {
    expect(isSelected(object, s)).toBe(expected);
  });
});

describe("withIsolationDefaults", () => {
  it("adds the gate, the finalizer, the managed label and the RuntimeClass without touching its argument", () => {
    const original = pod();
    const snapshot = structuredClone(original);
    const result = withIsolationDefaults(original, DEFAULT_RUNTIME_CLASS);
    expect(original).toEqual(snapshot);
    expect(result.metadata?.labels).toEqual({ app: "web", [MAROON_LABEL]: "true", [MANAGED_LABEL]: "true" });
    expect(result.metadata?.finalizers).toEqual([CLEANUP_FINALIZER]);
    expect(result.spec?.schedulingGates).toEqual([{ name: SCHEDULING_GATE }]);
    expect(result.spec?.runtimeClassName).toBe(DEFAULT_RUNTIME_CLASS);
    expect(withoutGivenRuntimeClass(withoutIsolationDefaults(result), original)).toEqual({
      ...snapshot, metadata: { ...snapshot.metadata, finalizers: [] }, spec: { ...snapshot.spec, schedulingGates: [] },
    });
  });

  it("keeps a RuntimeClass the pod already names", () => {
    expect(withIsolationDefaults(pod({ spec: { runtimeClassName: "marooned" } }), "other").spec?.runtimeClassName).toBe("marooned");
  });

  it("appends after existing gates and finalizers, keeping their order", () => {
    const result = withIsolationDefaults(pod({ finalizers: ["b.example/z", "a.example/y"], spec: { schedulingGates: [{ name: "z.example/gate" }, { name: "a.example/gate" }] } }), DEFAULT_RUNTIME_CLASS);
    expect(result.metadata?.finalizers).toEqual(["b.example/z", "a.example/y", CLEANUP_FINALIZER]);
    expect(result.spec?.schedulingGates).toEqual([{ name: "z.example/gate" }, { name: "a.example/gate" }, { name: SCHEDULING_GATE }]);
  });

  it("creates metadata when the pod has none", () => {
    expect(withIsolationDefaults({ spec: { containers: [] } }, DEFAULT_RUNTIME_CLASS)).toEqual({
      metadata: { labels: { [MANAGED_LABEL]: "true" }, finalizers: [CLEANUP_FINALIZER] },
      spec: { containers: [], runtimeClassName: DEFAULT_RUNTIME_CLASS, schedulingGates: [{ name: SCHEDULING_GATE }] },
    });
  });

  it("is idempotent", () => {
    const once = withIsolationDefaults(pod(), DEFAULT_RUNTIME_CLASS);
    expect(withIsolationDefaults(once, DEFAULT_RUNTIME_CLASS)).toEqual(once);
  });
});

describe("decideMutation on selected pods", () => {
  it.each<[string, PodObject]>([
    ["labeled pod", pod()],
    ["RuntimeClass pod", pod({ labels: { app: "web" }, spec: { runtimeClassName: "marooned" } })],
    ["pod without labels", pod({ labels: {}, spec: { runtimeClassName: "marooned" } })],
    ["pod without metadata", { spec: { runtimeClassName: "marooned", containers: [{ name: "c", image: "busybox" }] } }],
    [
      "pod with other gates, finalizers and labels",
      pod({
        labels: { zeta: "1", [MAROON_LABEL]: "true", alpha: "2" },
        finalizers: ["example.com/second", "example.com/first"],
        spec: { schedulingGates: [{ name: "example.com/wait" }, { name: "example.com/also" }] },
      }),
    ],
  ])("%s: the patch adds exactly the gate, the finalizer, the managed label and the RuntimeClass", (_name, original) => {
    const snapshot = structuredClone(original);
    const operations = patchOf(decideMutation(request(original), settings));
    const patched = apply(original, operations);
    expect(original).toEqual(snapshot);

    expect(patched.metadata?.labels?.[MANAGED_LABEL]).toBe("true");
    expect(patched.metadata?.finalizers?.filter((f) => f === CLEANUP_FINALIZER)).toHaveLength(1);
    expect(patched.spec?.schedulingGates?.filter((g) => g.name === SCHEDULING_GATE)).toHaveLength(1);
    // Existing entries keep their order; the webhook's are appended.
    expect(patched.metadata?.finalizers).toEqual([...(snapshot.metadata?.finalizers ?? []), CLEANUP_FINALIZER]);
    expect(patched.spec?.schedulingGates).toEqual([...(snapshot.spec?.schedulingGates ?? []), { name: SCHEDULING_GATE }]);
    expect(Object.keys(patched.metadata?.labels ?? {})).toEqual([...Object.keys(snapshot.metadata?.labels ?? {}), MANAGED_LABEL]);
    expect(patched.spec?.runtimeClassName).toBe(DEFAULT_RUNTIME_CLASS);

    // Everything else is exactly as it was.
    const rest = withoutGivenRuntimeClass(withoutIsolationDefaults(patched), snapshot);
    const expected = structuredClone(snapshot);
    const metadata = (expected.metadata ??= {});
    const spec = (expected.spec ??= {});
    metadata.labels ??= {};
    metadata.finalizers ??= [];
    spec.schedulingGates ??= [];
    expect(rest).toEqual(expected);
  });

  it("patches only inside metadata.labels, metadata.finalizers and spec.schedulingGates when they exist, and names the RuntimeClass", () => {
    const operations = patchOf(decideMutation(request(pod({ finalizers: ["example.com/f"], spec: { schedulingGates: [{ name: "example.com/g" }] } })), settings));
    expect(operations).toEqual([
      { op: "add", path: "/spec/schedulingGates/1", value: { name: SCHEDULING_GATE } },
      { op: "add", path: "/spec/runtimeClassName", value: DEFAULT_RUNTIME_CLASS },
      { op: "add", path: "/metadata/finalizers/1", value: CLEANUP_FINALIZER },
      { op: "add", path: "/metadata/labels/maroonedpods.io~1managed", value: "true" },
    ]);
  });

  it("is idempotent: a patched pod is allowed as already gated", () => {
    const patched = apply(pod(), patchOf(decideMutation(request(pod()), settings)));
    expect(decideMutation(request(patched), settings)).toEqual({ kind: "allow", reason: "already-gated" });
  });

  it.each<[string, PodObject, JsonPatchOperation[]]>([
    [
      "gate and label present, finalizer missing",
      pod({ labels: { [MAROON_LABEL]: "true", [MANAGED_LABEL]: "true" }, spec: { runtimeClassName: "marooned", schedulingGates: [{ name: SCHEDULING_GATE }] } }),
      [{ op: "add", path: "/metadata/finalizers", value: [CLEANUP_FINALIZER] }],
    ],
    [
      "gate present, finalizer and label missing",
      pod({ spec: { runtimeClassName: "marooned", schedulingGates: [{ name: "example.com/other" }, { name: SCHEDULING_GATE }] } }),
      [
        { op: "add", path: "/metadata/finalizers", value: [CLEANUP_FINALIZER] },
        { op: "add", path: "/metadata/labels/maroonedpods.io~1managed", value: "true" },
      ],
    ],
    [
      "finalizer and label present, gate missing",
      pod({ labels: { [MAROON_LABEL]: "true", [MANAGED_LABEL]: "true" }, finalizers: [CLEANUP_FINALIZER], spec: { runtimeClassName: "marooned" } }),
      [{ op: "add", path: "/spec/schedulingGates", value: [{ name: SCHEDULING_GATE }] }],
    ],
    [
      "gate and finalizer present, managed label with another value",
      pod({ labels: { [MAROON_LABEL]: "true", [MANAGED_LABEL]: "false" }, finalizers: [CLEANUP_FINALIZER], spec: { runtimeClassName: "marooned", schedulingGates: [{ name: SCHEDULING_GATE }] } }),
      [{ op: "replace", path: "/metadata/labels/maroonedpods.io~1managed", value: "true" }],
    ],
  ])("%s: adds only what is missing", (_name, original, expected) => {
    const operations = patchOf(decideMutation(request(original), settings));
    expect([...operations].sort((a, b) => a.path.localeCompare(b.path))).toEqual(expected);
    expect(decideMutation(request(apply(original, operations)), settings)).toEqual({ kind: "allow", reason: "already-gated" });
  });

  it("allows a pod that already carries all four as already gated", () => {
    const gated = pod({ labels: { [MAROON_LABEL]: "true", [MANAGED_LABEL]: "true" }, finalizers: [CLEANUP_FINALIZER], spec: { runtimeClassName: "marooned", schedulingGates: [{ name: SCHEDULING_GATE }] } });
    expect(decideMutation(request(gated), settings)).toEqual({ kind: "allow", reason: "already-gated" });
  });

  it.each<[string, PodObject]>([
    ["labeled, naming another RuntimeClass", pod({ spec: { runtimeClassName: "kata" } })],
    ["labeled, naming the empty RuntimeClass", pod({ spec: { runtimeClassName: "" } })],
  ])("denies a pod it cannot charge for its VM: %s", (_name, original) => {
    const decision = decideMutation(request(original), settings);
    expect(decision.kind).toBe("deny");
    expect(decision.kind === "deny" ? decision.message : "").toContain(`runs with RuntimeClass ${DEFAULT_RUNTIME_CLASS}`);
  });

  it("never reads the pod's name or UID (generateName pods have neither at admission)", () => {
    const readName = (): never => {
      throw new Error("the decision read a name or UID");
    };
    const original = pod();
    const metadata = original.metadata ?? {};
    // Non-enumerable getters: invisible to copying and diffing, but any direct read throws.
    Object.defineProperty(metadata, "name", { get: readName, enumerable: false });
    Object.defineProperty(metadata, "uid", { get: readName, enumerable: false });
    original.metadata = metadata;
    const req = request(original);
    Object.defineProperty(req, "name", { get: readName, enumerable: false });
    const operations = patchOf(decideMutation(req, settings));
    expect(operations.map((o) => o.path).filter((path) => /\/(name|uid|generateName)(\/|$)/.test(path))).toEqual([]);
    expect(JSON.stringify(operations)).not.toMatch(/web-7d4b9c|705ab4f5/);
  });

  it("gives the same patch whatever the pod's name and UID", () => {
    const named = pod();
    named.metadata = { ...named.metadata, name: "web-abcde", uid: "0f5c8a6e-7b4d-4e0e-9a39-1d7c9c2f8b11" };
    expect(decideMutation({ ...request(named), name: "web-abcde" }, settings)).toEqual(decideMutation(request(pod()), settings));
  });

  it("respects a custom trigger label and RuntimeClass", () => {
    const custom: AdmissionSettings = { ...settings, triggerLabel: { key: "example.com/sandbox", value: "vm" }, runtimeClassName: "kata-vm" };
    expect(decideMutation(request(pod({ labels: { "example.com/sandbox": "vm" } })), custom).kind).toBe("patch");
    expect(decideMutation(request(pod({ labels: {}, spec: { runtimeClassName: "kata-vm" } })), custom).kind).toBe("patch");
    expect(decideMutation(request(pod()), custom)).toEqual({ kind: "allow", reason: "not-selected" });
    expect(decideMutation(request(pod({ labels: {}, spec: { runtimeClassName: "marooned" } })), custom)).toEqual({ kind: "allow", reason: "not-selected" });
  });
});

describe("decideMutation on other requests", () => {
  it.each<[string, AdmissionRequest, MutationDecision]>([
    ["unselected pod", request(pod({ labels: { app: "web" } })), { kind: "allow", reason: "not-selected" }],
    ["label with another value", request(pod({ labels: { [MAROON_LABEL]: "yes" } })), { kind: "allow", reason: "not-selected" }],
    ["UPDATE of a selected pod", request(pod(), { operation: "UPDATE" }), { kind: "allow", reason: "not-create" }],
    ["DELETE (no object)", request(null, { operation: "DELETE" }), { kind: "allow", reason: "not-create" }],
    ["CONNECT", request(undefined, { operation: "CONNECT" }), { kind: "allow", reason: "not-create" }],
  ])("%s -> %j", (_name, req, expected) => {
    expect(decideMutation(req, settings)).toEqual(expected);
  });

  it.each<[string, GroupVersionKind, string]>([
    ["apps/v1 Deployment", { group: "apps", version: "v1", kind: "Deployment" }, "expected a core/v1 Pod, got apps/v1 Deployment"],
    ["core/v1 Service", { group: "", version: "v1", kind: "Service" }, "expected a core/v1 Pod, got core/v1 Service"],
    ["a Pod kind in another group", { group: "example.com", version: "v1", kind: "Pod" }, "expected a core/v1 Pod, got example.com/v1 Pod"],
  ])("rejects %s as invalid, naming the kind", (_name, kind, message) => {
    expect(decideMutation(request(pod(), { kind }), settings)).toEqual({ kind: "invalid", message });
  });

  const labeled = { labels: { [MAROON_LABEL]: "true" } };
  it.each<[string, unknown, string]>([
    ["object null", null, "request.object"],
    ["object missing", undefined, "request.object"],
    ["object a string", "pod", "request.object"],
    ["object an array", [pod()], "request.object"],
    ["metadata not an object", { metadata: "m", spec: { containers: [] } }, "request.object.metadata"],
    ["metadata null", { metadata: null, spec: { containers: [] } }, "request.object.metadata"],
    ["spec missing", { metadata: labeled }, "request.object.spec"],
    ["spec an array", { metadata: labeled, spec: [] }, "request.object.spec"],
    ["containers missing", { metadata: labeled, spec: {} }, "request.object.spec.containers"],
    ["containers not a list", { metadata: labeled, spec: { containers: { name: "c" } } }, "request.object.spec.containers"],
    ["labels not a map", { metadata: { labels: ["maroonedpods.io/maroon=true"] }, spec: { containers: [] } }, "request.object.metadata.labels"],
    ["labels a string", { metadata: { labels: "x" }, spec: { containers: [] } }, "request.object.metadata.labels"],
    ["finalizers not a list", { metadata: { ...labeled, finalizers: "example.com/f" }, spec: { containers: [] } }, "request.object.metadata.finalizers"],
    ["schedulingGates not a list", { metadata: labeled, spec: { containers: [], schedulingGates: { name: "g" } } }, "request.object.spec.schedulingGates"],
    ["schedulingGates holding null", { metadata: labeled, spec: { containers: [], schedulingGates: [null] } }, "request.object.spec.schedulingGates"],
    ["schedulingGates holding a string", { metadata: labeled, spec: { containers: [], schedulingGates: [SCHEDULING_GATE] } }, "request.object.spec.schedulingGates"],
    ["runtimeClassName not a string", { metadata: {}, spec: { containers: [], runtimeClassName: 7 } }, "request.object.spec.runtimeClassName"],
    ["runtimeClassName an object", { metadata: {}, spec: { containers: [], runtimeClassName: { name: "marooned" } } }, "request.object.spec.runtimeClassName"],
  ])("rejects a CREATE with %s as invalid, naming the field", (_name, object, field) => {
    const decision = decideMutation(request(object), settings);
    expect(decision.kind).toBe("invalid");
    if (decision.kind !== "invalid") return;
    expect(decision.message.split(" ")[0]).toBe(field);
  });
});
