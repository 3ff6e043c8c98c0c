import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { OWNED_LABELS, POD_CONDITIONS } from "../api/conditions.ts";
import { renderStatusTable, statusRows } from "./status-table.ts";

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

const released: V1Pod = {
  metadata: { namespace: "team", name: "web", uid: "u1", creationTimestamp: at(0) },
  spec: { nodeName: "marooned-u1", containers: [] },
  status: {
    phase: "Running",
    startTime: at(9),
    conditions: [
      { type: POD_CONDITIONS.VMLaunched, status: "True", lastTransitionTime: at(1) },
      { type: POD_CONDITIONS.NodeTrusted, status: "True", lastTransitionTime: at(7) },
    ],
  },
};
const vmis = [{ metadata: { name: "marooned-u1", labels: { [OWNED_LABELS.podUid]: "u1" } } }];
const waiting: V1Pod = {
  metadata: { namespace: "team", name: "batch", uid: "u2", creationTimestamp: at(5) },
  spec: { schedulingGates: [{ name: "maroonedpods.io/vm-node" }], containers: [] },
  status: { phase: "Pending" },
};
const event = (uid: string, reason: string, seconds: number): CoreV1Event => ({
  metadata: {},
  involvedObject: { uid },
  reason,
  message: `${reason} happened`,
  lastTimestamp: at(seconds),
});

describe("status table", () => {
  it("shows each pod's VM, node, phase, step times from creation and newest event, oldest pod first", () => {
    const rows = statusRows([waiting, released], [event("u1", "NodeTrusted", 7), event("u1", "PodReleased", 8), event("u2", "VMCreated", 6)], vmis);
    expect(rows).toEqual([
      { pod: "team/web", vm: "marooned-u1", node: "marooned-u1", phase: "Running", vmCreated: "1.0s", nodeTrusted: "7.0s", running: "9.0s", lastEvent: "PodReleased: PodReleased happened" },
      { pod: "team/batch", vm: "-", node: "-", phase: "WaitingForVM", vmCreated: "-", nodeTrusted: "-", running: "-", lastEvent: "VMCreated: VMCreated happened" },
    ]);
  });

  it("says when a pod's VM came from the warm pool", () => {
    const claimed: V1Pod = {
      ...released,
      metadata: { ...released.metadata, uid: "u3" },
      status: { ...released.status, conditions: [{ type: POD_CONDITIONS.WarmPool, status: "True", lastTransitionTime: at(0) }] },
    };
    const [row] = statusRows([claimed], [], [{ metadata: { name: "marooned-pool-abc", labels: { [OWNED_LABELS.podUid]: "u3" } } }]);
    expect(row?.vm).toBe("marooned-pool-abc (warm pool)");
  });

  it("renders aligned columns, and says so when there is nothing to show", () => {
    const table = renderStatusTable(statusRows([released], [], vmis));
    const [header, line] = table.trimEnd().split("\n");
    expect(header).toMatch(/^POD\s+VM\s+NODE\s+PHASE\s+VM CREATED\s+NODE TRUSTED\s+RUNNING\s+LAST EVENT$/);
    expect(line?.indexOf("marooned-u1")).toBe(header?.indexOf("VM"));
    expect(renderStatusTable([])).toBe("No marooned pods found.\n");
  });
});
