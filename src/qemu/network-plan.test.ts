import { describe, expect, it } from "vitest";
import { freeTapIndex, guestHostname, macFor, nextFreeIp, parseSubnet } from "./network-plan.ts";

describe("parseSubnet", () => {
  it("puts the gateway first and VMs after it, up to the address before broadcast", () => {
    expect(parseSubnet("10.77.0.0/24")).toMatchObject({ gatewayIp: "10.77.0.1", netmask: "255.255.255.0", network: "10.77.0.0", prefixLength: 24 });
    expect(parseSubnet("192.168.8.77/22")).toMatchObject({ gatewayIp: "192.168.8.1", netmask: "255.255.252.0", network: "192.168.8.0" });
  });

  it.each(["10.77.0.0", "10.77.0.0/30", "10.77.0.256/24", "fd00::/64", "10.77.0.0/7"])("rejects %s", (cidr) => {
    expect(() => parseSubnet(cidr)).toThrow(/IPv4 CIDR/);
  });
});

describe("nextFreeIp", () => {
  const subnet = parseSubnet("10.77.0.0/29"); // VMs: .2 to .6

  it("starts after the gateway and moves on from the last address given", () => {
    expect(nextFreeIp(subnet, new Set(), undefined)).toBe("10.77.0.2");
    expect(nextFreeIp(subnet, new Set(), "10.77.0.2")).toBe("10.77.0.3");
  });

  it("skips taken addresses and wraps around, never to the gateway or broadcast", () => {
    expect(nextFreeIp(subnet, new Set(["10.77.0.2"]), "10.77.0.6")).toBe("10.77.0.3");
    expect(nextFreeIp(subnet, new Set(["10.77.0.2", "10.77.0.3", "10.77.0.4", "10.77.0.5", "10.77.0.6"]), "10.77.0.3")).toBeUndefined();
  });
});

describe("macFor", () => {
  it("is stable per UID, under QEMU's prefix, and differs between UIDs", () => {
    const mac = macFor("6f1c1f4e-0000-4000-8000-000000000001", new Set());
    expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(macFor("6f1c1f4e-0000-4000-8000-000000000001", new Set())).toBe(mac);
    expect(macFor("6f1c1f4e-0000-4000-8000-000000000002", new Set())).not.toBe(mac);
  });

  it("moves off a MAC a live VM has", () => {
    const mac = macFor("uid", new Set());
    const other = macFor("uid", new Set([mac]));
    expect(other).not.toBe(mac);
    expect(other).toMatch(/^52:54:00/);
  });
});

describe("freeTapIndex", () => {
  it("takes the lowest unused index", () => {
    expect(freeTapIndex(new Set())).toBe(0);
    expect(freeTapIndex(new Set([0, 1, 3]))).toBe(2);
  });
});

describe("guestHostname", () => {
  it.each([
    [{ metadata: { name: "vm-a" }, spec: { hostname: "custom" } }, "custom"],
    [{ metadata: { name: "vm-a" }, spec: {} }, "vm-a"],
    [{ metadata: { name: "web.example.com" }, spec: {} }, "web"],
    [{ metadata: { name: "x".repeat(70) }, spec: {} }, "x".repeat(63)],
  ])("%j → %s", (vmi, hostname) => {
    expect(guestHostname(vmi)).toBe(hostname);
  });
});
