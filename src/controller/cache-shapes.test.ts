import type { V1Node, V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { slim, slimNode, slimUserDataSecret } from "./cache-shapes.ts";

const managedFields = [{ manager: "kubelet", operation: "Update" }];

describe("the cached shapes", () => {
  it("drop managedFields and keep the rest of an object", () => {
    const pod = { metadata: { name: "p", namespace: "n", managedFields, labels: { a: "b" } }, spec: { containers: [] } };
    expect(slim(pod)).toEqual({ metadata: { name: "p", namespace: "n", labels: { a: "b" } }, spec: { containers: [] } });
  });

  it("keep of a node what verification and readiness read: metadata, taints, addresses, conditions", () => {
    const node: V1Node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "vm-1", uid: "u", resourceVersion: "7", labels: { l: "v" }, annotations: { x: "y" }, managedFields },
      spec: { taints: [{ key: "k", value: "v", effect: "NoSchedule" }], podCIDR: "10.0.0.0/24", providerID: "kwok://vm-1" },
      status: {
        addresses: [{ type: "InternalIP", address: "10.0.0.5" }],
        conditions: [{ type: "Ready", status: "True" }],
        capacity: { cpu: "1" },
        allocatable: { cpu: "1" },
        images: [{ names: ["image"], sizeBytes: 1 }],
        nodeInfo: { architecture: "amd64", bootID: "", containerRuntimeVersion: "", kernelVersion: "", kubeProxyVersion: "", kubeletVersion: "", machineID: "", operatingSystem: "linux", osImage: "", systemUUID: "" },
      },
    };
    expect(slimNode(node)).toEqual({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "vm-1", uid: "u", resourceVersion: "7", labels: { l: "v" }, annotations: { x: "y" } },
      spec: { taints: [{ key: "k", value: "v", effect: "NoSchedule" }] },
      status: { addresses: [{ type: "InternalIP", address: "10.0.0.5" }], conditions: [{ type: "Ready", status: "True" }] },
    });
    expect(slimNode({ metadata: { name: "bare" } })).toEqual({ metadata: { name: "bare" } });
  });

  it("keep a user-data Secret's metadata, not its data", () => {
    const secret: V1Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "vm-1-cloud-init", labels: { o: "p" }, managedFields }, type: "Opaque", data: { userdata: "I2Nsb3VkLWNvbmZpZw==" } };
    expect(slimUserDataSecret(secret)).toEqual({ apiVersion: "v1", kind: "Secret", metadata: { name: "vm-1-cloud-init", labels: { o: "p" } }, type: "Opaque" });
  });
});
