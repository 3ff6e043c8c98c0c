import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { SCHEDULING_GATE, TRUSTED_NODE_LABEL } from "../src/api/names.ts";
import { releasePatch } from "./floor.ts";

describe("releasePatch", () => {
  it("pins the pod to its trusted node, tolerates its taints and drops the gate, keeping what was there", () => {
    const pod: V1Pod = {
      metadata: { uid: "u-1" },
      spec: {
        containers: [],
        nodeSelector: { zone: "a" },
        tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }],
        schedulingGates: [{ name: SCHEDULING_GATE }],
      },
    };
    expect(releasePatch(pod, "maroonedpods.io")).toEqual([
      { op: "add", path: "/spec/nodeSelector", value: { zone: "a", [TRUSTED_NODE_LABEL]: "u-1" } },
      {
        op: "add",
        path: "/spec/tolerations",
        value: [
          pod.spec?.tolerations?.[0],
          { key: "maroonedpods.io/dedicated", operator: "Equal", value: "u-1", effect: "NoSchedule" },
          { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" },
        ],
      },
      { op: "remove", path: "/spec/schedulingGates" },
    ]);
  });
});
