import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCacheRoot } from "../src/devcluster/versions.ts";
import { BOOT_TIMELINE_ANNOTATION, QEMU_HOST_NODE } from "../src/qemu/constants.ts";
import { startTcpToUnixRelay, type Relay } from "../src/qemu/relay.ts";
import type { QemuVmEvent } from "../src/qemu/runtime.ts";
import { pollUntil } from "../src/util/poll.ts";
import type { HarnessConfig } from "./support/qemu-runtime-harness.ts";
import { randomSuffix, vmiClient, vmiManifest } from "./support/kube.ts";
import { isAlive, runCommand } from "./support/processes.ts";
import { ensureTestGuest, TEST_GUEST_PREFIX } from "./support/test-guest.ts";

/**
 * The QEMU VM runtime with real VMs (the busybox test guest, under TCG here), in a network namespace of the
 * test's own. The harness runs there with a control plane of its own, as a dev session re-executed in its
 * namespace does; the test reaches that API server through the unix-socket relay.
 */
const HARNESS = fileURLToPath(new URL("./support/qemu-runtime-harness.ts", import.meta.url));
type HarnessLine = QemuVmEvent | { type: "ready"; adminKubeconfigPath: string; gatewayIp: string; accelerator: { kind: string; reason: string } } | { type: "error"; message: string } | { type: "stopped" };

const netns = `mp-qemu-test-${randomSuffix()}`;
const lines: HarnessLine[] = [];
let dir: string;
let harness: ChildProcess | undefined;
let relay: Relay | undefined;
let kubeConfig: KubeConfig;
let harnessLog: string;
let accelerator = "";

async function ip(...args: string[]): Promise<void> {
  const result = await runCommand("ip", args);
  if (result.code !== 0) throw new Error(`ip ${args.join(" ")}: ${result.stderr}`);
}

function line<T extends HarnessLine["type"]>(type: T, match: (l: Extract<HarnessLine, { type: T }>) => boolean = () => true, timeoutMs = 90_000) {
  return pollUntil(`harness line ${type}`, () => Promise.resolve(lines.find((l): l is Extract<HarnessLine, { type: T }> => l.type === type && match(l as Extract<HarnessLine, { type: T }>))), {
    timeoutMs,
    check: () => {
      const failed = lines.find((l) => l.type === "error");
      if (failed) throw new Error(`harness failed: ${failed.message}; see ${harnessLog}`);
    },
  });
}

const vmis = () => vmiClient(kubeConfig);
const phaseOf = async (namespace: string, name: string) => (await vmis().read(namespace, name)).status?.phase;

beforeAll(async () => {
  const image = await ensureTestGuest(defaultCacheRoot(process.env));
  dir = await mkdtemp(join(tmpdir(), "qemu-runtime-test-"));
  harnessLog = join(dir, "harness.log");
  await ip("netns", "add", netns);
  await ip("-n", netns, "link", "set", "lo", "up");
  const config: HarnessConfig = { image, workDir: join(dir, "runtime"), apiSocketPath: join(dir, "api.sock"), logFile: harnessLog, stopGraceMs: 2_000 };
  harness = spawn("ip", ["netns", "exec", netns, process.execPath, HARNESS, JSON.stringify(config)], { stdio: ["ignore", "pipe", "inherit"] });
  createInterface({ input: harness.stdout ?? process.stdin }).on("line", (text) => {
    if (text.startsWith("{")) lines.push(JSON.parse(text) as HarnessLine);
  });
  const ready = await line("ready", undefined, 240_000);
  relay = await startTcpToUnixRelay({ host: "127.0.0.1", port: 0, socketPath: config.apiSocketPath });
  const port = (relay.listening as { port: number }).port;
  const admin = new KubeConfig();
  admin.loadFromString((await readFile(ready.adminKubeconfigPath, "utf8")).replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`));
  kubeConfig = admin;
  accelerator = `${ready.accelerator.kind} (${ready.accelerator.reason})`;
}, 300_000);

afterAll(async () => {
  if (harness && harness.exitCode === null) {
    const exited = new Promise((resolve) => harness?.once("exit", resolve));
    harness.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 60_000))]);
  }
  await relay?.stop();
  await runCommand("ip", ["netns", "del", netns]);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe("the QEMU VM runtime", () => {
  it("boots a VMI as a VM that gets the VMI's IP by DHCP and its hostname from the seed, and deleting the VMI removes the VM", async ({ annotate }) => {
    const namespace = "default";
    const name = `vm-${randomSuffix()}`;
    await kubeConfig.makeApiClient(CoreV1Api).createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: { userdata: "#cloud-config\n" } } });
    const manifest = vmiManifest(name, { cloudInitNoCloud: { secretRef: { name } } });
    await vmis().create(namespace, { ...manifest, spec: { ...manifest.spec, hostname: "guest-one", domain: { ...manifest.spec.domain, resources: { requests: { memory: "256Mi" } } } } });

    const started = await line("started", (l) => l.vmi === `${namespace}/${name}`);
    const running: V1VirtualMachineInstance = await pollUntil("VMI Running", async () => {
      const vmi = await vmis().read(namespace, name);
      return vmi.status?.phase === "Running" ? vmi : undefined;
    }, { timeoutMs: 60_000 });
    const phases = (running.status?.phaseTransitionTimestamps ?? []).map((t) => t.phase);
    expect(phases).toEqual(["Pending", "Scheduling", "Scheduled", "Running"]);
    expect(running.status?.nodeName).toBe(QEMU_HOST_NODE);
    expect(running.status?.interfaces?.[0]?.ipAddress).toBe(started.ip);
    expect(started.ip).toMatch(/^10\.77\.0\.\d+$/);

    const serial = await pollUntil("the guest's report on its serial console", async () => {
      const text = await readFile(started.serialLog, "utf8").catch(() => "");
      return text.includes(`${TEST_GUEST_PREFIX} hostname`) ? text : undefined;
    }, { timeoutMs: 60_000 });
    expect(serial).toContain(`${TEST_GUEST_PREFIX} dhcp bound ${started.ip}`);
    expect(serial).toContain(`${TEST_GUEST_PREFIX} meta-data local-hostname: guest-one`);
    expect(serial).toContain(`${TEST_GUEST_PREFIX} meta-data instance-id: ${started.uid}`);
    expect(serial).toContain(`${TEST_GUEST_PREFIX} hostname guest-one`);

    const timeline = await pollUntil("the boot timeline annotation", async () => {
      const value = (await vmis().read(namespace, name)).metadata?.annotations?.[BOOT_TIMELINE_ANNOTATION];
      const parsed = value ? (JSON.parse(value) as Record<string, string>) : {};
      return parsed.cloudInitFinished ? parsed : undefined;
    }, { timeoutMs: 30_000 });
    expect(Object.keys(timeline)).toEqual(expect.arrayContaining(["qemuStarted", "kernelStarted", "cloudInitFinished"]));
    const seconds = (milestone: string) => (Date.parse(timeline[milestone] ?? "") - Date.parse(timeline.qemuStarted ?? "")) / 1000;
    await annotate(`test guest under ${accelerator}: kernel ${seconds("kernelStarted")} s, its report done ${seconds("cloudInitFinished")} s after QEMU started`);

    expect(isAlive(started.pid)).toBe(true);
    expect(existsSync(join(started.vmDir, "overlay.qcow2"))).toBe(true);
    await vmis().delete(namespace, name);
    const exited = await line("exited", (l) => l.pid === started.pid, 30_000);
    expect(exited.stoppedByUs).toBe(true);
    await line("removed", (l) => l.vmi === `${namespace}/${name}`, 30_000);
    expect(isAlive(started.pid)).toBe(false);
    expect(existsSync(started.vmDir)).toBe(false);
    const links = await runCommand("ip", ["-n", netns, "-o", "link", "show"]);
    expect(links.stdout).not.toContain(started.tap);
  });

  it("fails a VMI whose QEMU is killed from outside, with the signal as the reason", async () => {
    const namespace = "default";
    const name = `vm-${randomSuffix()}`;
    const manifest = vmiManifest(name, { cloudInitNoCloud: { userData: "#cloud-config\n" } });
    await vmis().create(namespace, { ...manifest, spec: { ...manifest.spec, domain: { ...manifest.spec.domain, resources: { requests: { memory: "256Mi" } } } } });
    const started = await line("started", (l) => l.vmi === `${namespace}/${name}`);
    await pollUntil("VMI Running", async () => ((await phaseOf(namespace, name)) === "Running" ? true : undefined), { timeoutMs: 60_000 });

    process.kill(started.pid, "SIGKILL");
    const failed = await pollUntil("VMI Failed", async () => {
      const vmi = await vmis().read(namespace, name);
      return vmi.status?.phase === "Failed" ? vmi : undefined;
    }, { timeoutMs: 30_000 });
    expect(failed.status?.conditions?.find((c) => c.type === "Ready")?.message).toMatch(/QEMU was killed by SIGKILL/);
    const exited = await line("exited", (l) => l.pid === started.pid, 5_000);
    expect(exited.stoppedByUs).toBe(false);
    await line("removed", (l) => l.vmi === `${namespace}/${name}`, 30_000);
    expect(existsSync(started.vmDir)).toBe(false);
    await vmis().delete(namespace, name);
  });
});
