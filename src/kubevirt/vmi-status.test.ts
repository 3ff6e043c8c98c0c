import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { statusAfterPhases } from "./vmi-status.ts";

describe("statusAfterPhases", () => {
  const now = new Date("2025-01-02T03:04:05.000Z");
  const facts = { ip: "10.244.0.7", hostNode: "kwok-host" };
  const vmi: V1VirtualMachineInstance = { metadata: { name: "vm" }, spec: { domain: { devices: {} } } };

  it.each([
    ["Pending", { phase: "Pending", phaseTransitionTimestamps: [{ phase: "Pending", phaseTransitionTimestamp: now.toISOString() }] }],
    ["Scheduling", { phase: "Scheduling", phaseTransitionTimestamps: [{ phase: "Scheduling", phaseTransitionTimestamp: now.toISOString() }] }],
    [
      "Scheduled",
      { phase: "Scheduled", nodeName: "kwok-host", phaseTransitionTimestamps: [{ phase: "Scheduled", phaseTransitionTimestamp: now.toISOString() }] },
    ],
  ] as const)("%s", (phase, expected) => {
    expect(statusAfterPhases([], [phase], now, facts)).toEqual(expected);
  });

  it("Running carries the node, an interface with the IP, and a Ready condition", () => {
    expect(statusAfterPhases([], ["Running"], now, facts)).toEqual({
      phase: "Running",
      nodeName: "kwok-host",
      phaseTransitionTimestamps: [{ phase: "Running", phaseTransitionTimestamp: now.toISOString() }],
      interfaces: [{ name: "default", ipAddress: "10.244.0.7", ipAddresses: ["10.244.0.7"], interfaceName: "eth0", infoSource: "domain, guest-agent" }],
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: now.toISOString() }],
    });
  });

  it("appends each transition to the ones the VMI already has", () => {
    const earlier = "2025-01-02T03:04:00.000Z";
    const scheduled: V1VirtualMachineInstance = {
      ...vmi,
      status: {
        phase: "Scheduled",
        phaseTransitionTimestamps: [
          { phase: "Pending", phaseTransitionTimestamp: earlier },
          { phase: "Scheduling", phaseTransitionTimestamp: earlier },
          { phase: "Scheduled", phaseTransitionTimestamp: earlier },
        ],
      },
    };
    const status = statusAfterPhases(scheduled.status?.phaseTransitionTimestamps ?? [], ["Running"], now, facts);
    expect(status.phaseTransitionTimestamps).toEqual([
      { phase: "Pending", phaseTransitionTimestamp: earlier },
      { phase: "Scheduling", phaseTransitionTimestamp: earlier },
      { phase: "Scheduled", phaseTransitionTimestamp: earlier },
      { phase: "Running", phaseTransitionTimestamp: now.toISOString() },
    ]);
    expect(scheduled.status?.phaseTransitionTimestamps).toHaveLength(3);
  });

  it("passes through several phases in one status, each with its transition", () => {
    const status = statusAfterPhases([], ["Pending", "Scheduling", "Scheduled", "Running"], now, facts);
    expect(status.phase).toBe("Running");
    expect(status.nodeName).toBe("kwok-host");
    expect(status.phaseTransitionTimestamps.map((t) => t.phase)).toEqual(["Pending", "Scheduling", "Scheduled", "Running"]);
    expect(status.conditions).toEqual([{ type: "Ready", status: "True", lastTransitionTime: now.toISOString() }]);
  });

  it.each([
    ["the given reason", "guest kernel panic", "guest kernel panic"],
    ["a default reason", undefined, "failure injected"],
  ])("Failed carries %s in a not-Ready condition", (_name, reason, message) => {
    const status = statusAfterPhases([], ["Failed"], now, { ...facts, reason });
    expect(status).toEqual({
      phase: "Failed",
      phaseTransitionTimestamps: [{ phase: "Failed", phaseTransitionTimestamp: now.toISOString() }],
      conditions: [{ type: "Ready", status: "False", reason: "GuestFailed", message, lastTransitionTime: now.toISOString() }],
    });
  });
});
