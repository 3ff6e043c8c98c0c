import { describe, expect, it } from "vitest";
import { dhcpHostsFile, dnsmasqArgs } from "./dnsmasq.ts";
import { parseSubnet } from "./network-plan.ts";

describe("dnsmasqArgs", () => {
  const args = dnsmasqArgs({ bridge: "mpbr0", subnet: parseSubnet("10.77.0.0/24"), dir: "/w" });

  it("serves static DHCP leases on the bridge only, with the bridge as router, and no DNS", () => {
    expect(args).toEqual(expect.arrayContaining([
      "--interface=mpbr0", "--bind-interfaces", "--port=0", "--conf-file=/dev/null",
      "--dhcp-range=10.77.0.0,static,255.255.255.0,infinite", "--dhcp-option=option:router,10.77.0.1",
    ]));
  });

  it("keeps its files in the work dir", () => {
    expect(args).toEqual(expect.arrayContaining(["--dhcp-hostsfile=/w/dhcp-hosts", "--dhcp-leasefile=/w/dhcp.leases", "--pid-file=/w/dnsmasq.pid"]));
  });
});

describe("dhcpHostsFile", () => {
  it("has one line per VM", () => {
    expect(dhcpHostsFile([{ mac: "52:54:00:00:00:01", ip: "10.77.0.2", hostname: "vm-a" }, { mac: "52:54:00:00:00:02", ip: "10.77.0.3", hostname: "vm-b" }])).toBe(
      "52:54:00:00:00:01,10.77.0.2,vm-a,infinite\n52:54:00:00:00:02,10.77.0.3,vm-b,infinite\n",
    );
    expect(dhcpHostsFile([])).toBe("");
  });
});
