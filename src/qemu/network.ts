import { run } from "./exec.ts";

/** The host side of the VMs' network, with iproute2, in the network namespace the runtime runs in. */

export async function createBridge(name: string, gatewayIp: string, prefixLength: number): Promise<void> {
  await run("ip", ["link", "add", name, "type", "bridge"]);
  await run("ip", ["addr", "add", `${gatewayIp}/${prefixLength}`, "dev", name]);
  await run("ip", ["link", "set", name, "up"]);
}

export async function createTap(name: string, bridge: string): Promise<void> {
  await run("ip", ["tuntap", "add", "dev", name, "mode", "tap"]);
  await run("ip", ["link", "set", name, "master", bridge, "up"]);
}

/** Deletes a link; one already gone is fine (cleanup runs again after a crash). */
export async function deleteLink(name: string): Promise<void> {
  if ((await linkNames()).includes(name)) await run("ip", ["link", "del", name]);
}

export async function linkNames(): Promise<string[]> {
  const links = JSON.parse(await run("ip", ["-j", "link", "show"])) as { ifname: string }[];
  return links.map((link) => link.ifname);
}
