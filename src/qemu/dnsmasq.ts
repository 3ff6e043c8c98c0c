import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { pollUntil } from "../util/poll.ts";
import { spawnOwned, type OwnedProcess } from "./owned-process.ts";
import type { VmSubnet } from "./network-plan.ts";

const DNSMASQ_START_TIMEOUT_MS = 10_000;

export interface DhcpHost {
  readonly mac: string;
  readonly ip: string;
  readonly hostname: string;
}

/**
 * In the foreground (so it is our child) with its pid file (for the stale check after a crash), logging to stderr.
 * DHCP only (no DNS: --port=0), on the bridge only, static leases only: a VM gets the address of its VMI, as
 * KubeVirt's bridge binding hands the pod's IP to the guest, and a stray MAC gets nothing. Nothing read from the
 * host's configuration. No ping before an offer: the address is ours to give. It stays root (only on the bridge, in
 * the runtime's own namespace): as nobody it could not reread a hosts file in a private work dir on SIGHUP, and the
 * switch of user would clear its parent-death signal.
 */
export function dnsmasqArgs(options: { bridge: string; subnet: VmSubnet; dir: string }): string[] {
  const { bridge, subnet, dir } = options;
  return [
    "--keep-in-foreground", "--log-facility=-", "--bind-interfaces", `--interface=${bridge}`, "--except-interface=lo",
    "--user=root", "--port=0", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--no-ping", "--log-dhcp",
    `--dhcp-range=${subnet.network},static,${subnet.netmask},infinite`,
    `--dhcp-option=option:router,${subnet.gatewayIp}`,
    `--dhcp-hostsfile=${join(dir, "dhcp-hosts")}`,
    `--dhcp-leasefile=${join(dir, "dhcp.leases")}`,
    `--pid-file=${join(dir, "dnsmasq.pid")}`,
  ];
}

/** dnsmasq's dhcp-hostsfile: one `mac,ip,hostname,lease time` per VM. */
export function dhcpHostsFile(hosts: Iterable<DhcpHost>): string {
  return [...hosts].map((h) => `${h.mac},${h.ip},${h.hostname},infinite\n`).join("");
}

export interface Dnsmasq {
  readonly pid: number;
  /** Replaces the static leases; dnsmasq rereads its hosts file on SIGHUP. */
  setHosts(hosts: Iterable<DhcpHost>): Promise<void>;
  stop(): Promise<void>;
}

export async function startDnsmasq(options: { bridge: string; subnet: VmSubnet; dir: string; logger: Logger }): Promise<Dnsmasq> {
  const hostsFile = join(options.dir, "dhcp-hosts");
  await writeFile(hostsFile, "");
  const child: OwnedProcess = spawnOwned("dnsmasq", dnsmasqArgs(options), { logFile: join(options.dir, "dnsmasq.log"), watch: "stdin-eof" });
  // Its pid file is written once it has bound the bridge: the sign it serves, and the pid to send SIGHUP to.
  const pid = await pollUntil("dnsmasq to write its pid file", async () => {
    if (child.exitedAlready) throw new Error(`dnsmasq exited at start; see ${join(options.dir, "dnsmasq.log")}`);
    const text = await readFile(join(options.dir, "dnsmasq.pid"), "utf8").catch(() => "");
    return /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
  }, { timeoutMs: DNSMASQ_START_TIMEOUT_MS, intervalMs: 100 });
  child.exited.then(({ code, signal }) => {
    if (!child.stopping) options.logger.error({ code, signal, log: join(options.dir, "dnsmasq.log") }, "dnsmasq exited: VMs get no DHCP leases");
  }, () => undefined);
  options.logger.info({ pid, bridge: options.bridge, log: join(options.dir, "dnsmasq.log") }, "DHCP server started");
  return {
    pid,
    async setHosts(hosts) {
      await writeFile(hostsFile, dhcpHostsFile(hosts));
      if (!child.exitedAlready) process.kill(pid, "SIGHUP");
    },
    stop: () => child.stop(() => Promise.resolve(), 0),
  };
}
