import { describe, expect, it } from "vitest";
import { changedPaths, changeOf, objectRef } from "./changes.ts";

describe("changedPaths", () => {
  const deployment = { kind: "Deployment", metadata: { name: "c", resourceVersion: "1", managedFields: [{ manager: "a" }] }, spec: { replicas: 2, template: { args: ["a"] } }, status: { ready: 1 } };

  it("ignores status and metadata the API server writes", () => {
    const after = { ...deployment, metadata: { name: "c", resourceVersion: "9", generation: 3, managedFields: [] }, status: { ready: 2 } };
    expect(changedPaths(deployment, after)).toEqual([]);
    expect(changeOf(deployment, after)).toBe("unchanged");
  });

  it("names each changed leaf, added and removed keys included", () => {
    const after = { ...deployment, metadata: { ...deployment.metadata, labels: { a: "b" } }, spec: { replicas: 3, template: { args: ["a", "b"] } } };
    expect(changedPaths(deployment, after)).toEqual(["metadata.labels", "spec.replicas", "spec.template.args"]);
    expect(changeOf(deployment, after)).toBe("configured");
  });

  it("calls an object that did not exist created", () => {
    expect(changeOf(undefined, deployment)).toBe("created");
  });
});

describe("objectRef", () => {
  it("names namespaced and cluster-scoped objects like kubectl", () => {
    expect(objectRef({ kind: "ClusterRole", metadata: { name: "x" } })).toBe("clusterrole/x");
    expect(objectRef({ kind: "Role", metadata: { name: "x", namespace: "ns" } })).toBe("role/ns/x");
  });
});
