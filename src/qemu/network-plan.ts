import { createHash } from "node:crypto";
import { MAC_PREFIX } from "./constants.ts";

/** An IPv4 subnet for the VMs: the gateway (the bridge) is its first address, VMs get the rest but the broadcast. */
export interface VmSubnet {
  readonly cidr: string;
  readonly prefixLength: number;
  readonly netmask: string;
  readonly gatewayIp: string;
  /** The first and last address a VM may get, as numbers. */
  readonly firstHost: number;
  readonly lastHost: number;
  readonly network: string;
}

const toNumber = (ip: string): number => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
export const ipFromNumber = (n: number): string => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");

export function parseSubnet(cidr: string): VmSubnet {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const prefixLength = Number(match?.[5]);
  if (!match || octets.some((o) => o > 255) || prefixLength < 8 || prefixLength > 29) {
    throw new Error(`subnet ${JSON.stringify(cidr)}: expected an IPv4 CIDR from /8 to /29, e.g. 10.77.0.0/24`);
  }
  const size = 2 ** (32 - prefixLength);
  const base = Math.floor(toNumber(octets.join(".")) / size) * size;
  return {
    cidr,
    prefixLength,
    netmask: ipFromNumber(2 ** 32 - size),
    network: ipFromNumber(base),
    gatewayIp: ipFromNumber(base + 1),
    firstHost: base + 2,
    lastHost: base + size - 2,
  };
}

/**
 * The next free VM address after the last one given, wrapping around: addresses are not reused at once, so a
 * DHCP lease or ARP entry of a VM just gone cannot meet its successor. Undefined when all are taken.
 */
export function nextFreeIp(subnet: VmSubnet, taken: ReadonlySet<string>, lastGiven: string | undefined): string | undefined {
  const count = subnet.lastHost - subnet.firstHost + 1;
  const start = lastGiven === undefined ? 0 : toNumber(lastGiven) - subnet.firstHost + 1;
  for (let i = 0; i < count; i++) {
    const ip = ipFromNumber(subnet.firstHost + (((start + i) % count) + count) % count);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}

/** A MAC derived from the VMI's UID, so a VMI keeps its MAC; rehashed on the rare clash with a live VM. */
export function macFor(uid: string, taken: ReadonlySet<string>): string {
  for (let salt = 0; ; salt++) {
    const digest = createHash("sha256").update(salt === 0 ? uid : `${uid}#${salt}`).digest();
    const mac = `${MAC_PREFIX}:${[...digest.subarray(0, 3)].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;
    if (!taken.has(mac)) return mac;
  }
}

/** The lowest tap index not in use: Linux interface names are at most 15 characters, so short names, reused. */
export function freeTapIndex(used: ReadonlySet<number>): number {
  let index = 0;
  while (used.has(index)) index++;
  return index;
}

/** The guest's hostname as KubeVirt gives it: spec.hostname, else the VMI name's first DNS label, at most 63 characters. */
export function guestHostname(vmi: { metadata?: { name?: string }; spec: { hostname?: string } }): string {
  return vmi.spec.hostname || (vmi.metadata?.name ?? "").split(".")[0]?.slice(0, 63) || "vm";
}
