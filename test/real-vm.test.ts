import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchV1Api, CertificatesV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1Node, type V1Pod } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_VM_NAMESPACE, KUBE_SYSTEM_NAMESPACE, MAROON_LABEL, MAROON_LABEL_VALUE, TRUSTED_NODE_LABEL } from "../src/api/names.ts";
import { OWNED_LABELS, POD_CONDITIONS } from "../src/api/conditions.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { BOOT_TIMELINE_ANNOTATION } from "../src/qemu/constants.ts";
import { SHELL_IMAGE } from "../src/qemu/images.ts";
import { checkNodeVmImagePrerequisites } from "../src/qemu/image.ts";
import { checkRuntimeTools } from "../src/qemu/prerequisites.ts";
import { pollUntil } from "../src/util/poll.ts";
import { startDevProcess, type DevProcess } from "../src/devcluster/dev-process.ts";
import { requireKubectl } from "./support/kubectl.ts";

/**
 * The product's promise on real VMs: QEMU boots the node image, cloud-init reads the controller's join info, the
 * guest's own kubeadm and kubelet join through the bootstrap token and CSR, and the pod runs there. Two VMs at most
 * boot at once (TCG here: minutes each), and the whole file boots three: pod A's, then the Job pod's twice (its first
 * QEMU is killed while it boots).
 */
const NAMESPACE = "real-vms";
const BOOT_TIMEOUT_MS = 15 * 60_000;
const HOST_BOOT_ID = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();

let dev: DevProcess;
let kubeconfig: string;
let dir: string;
let core: CoreV1Api;
let custom: CustomObjectsApi;

const kubectl = (...args: string[]) => execFileSync(requireKubectl(), ["--kubeconfig", kubeconfig, "-n", NAMESPACE, ...args], { encoding: "utf8", timeout: 60_000 });

async function runningPod(name: string): Promise<V1Pod> {
  return pollUntil(`pod ${name} to be Running`, async () => {
    const pod = await core.readNamespacedPod({ namespace: NAMESPACE, name }).catch(() => undefined);
    return pod?.status?.phase === "Running" ? pod : undefined;
  }, { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 1_000 });
}

async function readVmi(name: string): Promise<V1VirtualMachineInstance | undefined> {
  return (await custom.getNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, name }).catch(() => undefined)) as V1VirtualMachineInstance | undefined;
}

async function vmisOf(podUid: string): Promise<V1VirtualMachineInstance[]> {
  const list = (await custom.listNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, labelSelector: `${OWNED_LABELS.podUid}=${podUid}` })) as { items: V1VirtualMachineInstance[] };
  return list.items;
}

/** The QEMU processes whose command line names the VMI (the runtime names each guest after it). */
function qemuPidsOf(vmiName: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmdline.startsWith("qemu-system") || cmdline.includes("/qemu-system")) {
      if (cmdline.split("\0").some((arg) => arg.includes(vmiName))) pids.push(Number(entry));
    }
  }
  return pids;
}

const seconds = (from: string | Date | undefined, to: string | Date | undefined) =>
  from === undefined || to === undefined ? "?" : ((new Date(to).getTime() - new Date(from).getTime()) / 1000).toFixed(1);

/** The per-phase times of one pod's VM, from API timestamps and the runtime's serial-log timeline, printed for the record. */
function printTimeline(label: string, pod: V1Pod, vmi: V1VirtualMachineInstance, node: V1Node): void {
  const created = vmi.metadata?.creationTimestamp;
  const timeline = JSON.parse(vmi.metadata?.annotations?.[BOOT_TIMELINE_ANNOTATION] ?? "{}") as Record<string, string>;
  const transition = (phase: string) => vmi.status?.phaseTransitionTimestamps?.find((t) => t.phase === phase)?.phaseTransitionTimestamp;
  const ready = node.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True")?.lastTransitionTime;
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "True")?.lastTransitionTime;
  const started = pod.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? pod.status?.containerStatuses?.[0]?.state?.terminated?.startedAt;
  const rows: [string, string | Date | undefined][] = [
    ["pod created", pod.metadata?.creationTimestamp],
    ["VMI created", created],
    ["QEMU started (Scheduled)", transition("Scheduled")],
    ["VMI Running", transition("Running")],
    ...Object.entries(timeline).map(([milestone, at]) => [`guest: ${milestone}`, at] as [string, string]),
    ["kubelet registered (Node created)", node.metadata?.creationTimestamp],
    ["node Ready", ready],
    ["pod released and bound", scheduled],
    ["container started", started],
  ];
  const lines = rows.map(([what, at]) => `  ${what.padEnd(40)} +${seconds(pod.metadata?.creationTimestamp, at)} s`);
  process.stdout.write(`real-VM timeline, ${label} (seconds from pod create):\n${lines.join("\n")}\n`);
}

beforeAll(async () => {
  // Each names its one-line fix (apt-get install ...): a machine without QEMU fails here, it never skips.
  await checkNodeVmImagePrerequisites();
  await checkRuntimeTools();
  dir = await mkdtemp(join(tmpdir(), "maroonedpods-real-vm-"));
  kubeconfig = join(dir, "kubeconfig");
  // The first run builds the node image (minutes) before anything starts.
  dev = await startDevProcess(["--vm-runtime", "qemu", "--kubeconfig-out", kubeconfig, "--log-format", "json"], 45 * 60_000);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  expect(logEntries().some((entry) => entry.msg === "starting the QEMU VM runtime")).toBe(true);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await pollUntil("the default ServiceAccount", () => core.readNamespacedServiceAccount({ namespace: NAMESPACE, name: "default" }).catch(() => undefined), { timeoutMs: 60_000, intervalMs: 500 });
}, 50 * 60_000);

afterAll(async () => {
  const code = await (dev as DevProcess | undefined)?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  expect(code).toBe(0);
  // Nothing outlives the environment: no QEMU, no namespace.
  expect(qemuPidsOf(DEFAULT_VM_NAMESPACE)).toEqual([]);
  expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toMatch(/maroonedpods-dev-/);
}, 120_000);

describe("marooned pods on real QEMU VMs", () => {
  let jobPodKilledVmi: Promise<{ name: string; uid: string }>;

  it("runs a pod on its own VM: its logs, exec, a kernel of its own, a node that joined through the kubelet TLS bootstrap", async () => {
    const labels = { [MAROON_LABEL]: MAROON_LABEL_VALUE };
    const shell = { image: SHELL_IMAGE, imagePullPolicy: "Never" };
    await core.createNamespacedPod({ namespace: NAMESPACE, body: {
      metadata: { name: "a", labels },
      spec: { containers: [{ name: "main", ...shell, command: ["sh", "-c", "echo hello-from-marooned; cat /proc/sys/kernel/random/boot_id; exec sleep 3600"] }] },
    } });
    // The Job's pod boots beside A; its first VM is killed as soon as QEMU runs (the next test checks the outcome).
    await kcOf().makeApiClient(BatchV1Api).createNamespacedJob({ namespace: NAMESPACE, body: {
      metadata: { name: "b" },
      spec: { backoffLimit: 0, template: { metadata: { labels }, spec: { restartPolicy: "Never", containers: [{ name: "main", ...shell,
        command: ["sh", "-c", "cat /proc/sys/kernel/random/boot_id > /dev/termination-log; echo job-done"] }] } } },
    } });
    jobPodKilledVmi = killFirstVmOfJobPod();
    jobPodKilledVmi.catch(() => undefined);

    const pod = await runningPod("a");
    const uid = pod.metadata?.uid ?? "";
    const nodeName = pod.spec?.nodeName ?? "";
    expect(nodeName).toBe(`marooned-${uid}`);
    const node = await core.readNode({ name: nodeName });
    expect(node.metadata?.labels?.[TRUSTED_NODE_LABEL]).toBe(uid);
    const [vmi] = await vmisOf(uid);
    if (vmi === undefined) throw new Error("pod a has no VMI");
    printTimeline("pod a", pod, vmi, node);

    const logs = await pollUntil("pod a's logs", () => {
      const text = kubectl("logs", "a");
      return Promise.resolve(text.includes("hello-from-marooned") ? text : undefined);
    }, { timeoutMs: 60_000, intervalMs: 1_000 });
    const bootId = logs.split("\n")[1]?.trim() ?? "";
    expect(bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(bootId).not.toBe(HOST_BOOT_ID);
    expect(kubectl("exec", "a", "--", "sh", "-c", "echo exec-ok; cat /proc/sys/kernel/random/boot_id")).toBe(`exec-ok\n${bootId}\n`);
    aBootId = bootId;

    // The node's kubelet got its client certificate through the bootstrap token's CSR, approved by kube-controller-manager.
    const csrs = (await kcOf().makeApiClient(CertificatesV1Api).listCertificateSigningRequest()).items;
    const csr = csrs.find((c) => (c.spec.username ?? "").startsWith("system:bootstrap:") && c.status?.certificate !== undefined
      && new X509Certificate(Buffer.from(c.status.certificate, "base64")).subject.includes(`CN=system:node:${nodeName}`));
    expect(csr?.spec.signerName).toBe("kubernetes.io/kube-apiserver-client-kubelet");
    expect(csr?.status?.conditions?.find((c) => c.type === "Approved")?.reason).toBe("AutoApproved");
  }, BOOT_TIMEOUT_MS + 120_000);

  let aBootId = "";

  it("replaces a VM whose QEMU was killed while it booted; a completed Job's VM, node and secrets go away", async () => {
    const killed = await jobPodKilledVmi;
    await pollUntil("the killed VMI to be Failed or replaced", async () => {
      const vmi = await readVmi(killed.name);
      return vmi === undefined || vmi.metadata?.uid !== killed.uid || vmi.status?.phase === "Failed" ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1_000 });

    const pod = await pollUntil("the Job's pod to succeed", async () => {
      const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: "job-name=b" });
      return pods.items.find((p) => p.status?.phase === "Succeeded");
    }, { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 2_000 });
    const uid = pod.metadata?.uid ?? "";
    // The pod's own record says the controller launched a second VM after the first one failed.
    expect(pod.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMAttempts)?.message).toMatch(/^attempt 2 of /);
    const jobBootId = pod.status?.containerStatuses?.[0]?.state?.terminated?.message?.trim() ?? "";
    expect(jobBootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(jobBootId).not.toBe(HOST_BOOT_ID);
    expect(jobBootId).not.toBe(aBootId);

    const nodeName = pod.spec?.nodeName ?? "";
    await pollUntil("the Job pod's VM, node and secrets to be gone", async () => {
      const vmis = await vmisOf(uid);
      const node = await core.readNode({ name: nodeName }).catch(() => undefined);
      const secrets = [
        ...(await core.listNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, labelSelector: `${OWNED_LABELS.podUid}=${uid}` })).items,
        ...(await core.listNamespacedSecret({ namespace: KUBE_SYSTEM_NAMESPACE, labelSelector: `${OWNED_LABELS.podUid}=${uid}` })).items,
      ];
      return vmis.length === 0 && node === undefined && secrets.length === 0 && qemuPidsOf(nodeName).length === 0 ? true : undefined;
    }, { timeoutMs: 180_000, intervalMs: 2_000 });
    expect(vmDirsOf(nodeName).filter((d) => existsSync(d))).toEqual([]);
  }, BOOT_TIMEOUT_MS * 2);

  it("deleting a pod stops its QEMU and removes its files, node and secrets", async () => {
    const pod = await core.readNamespacedPod({ namespace: NAMESPACE, name: "a" });
    const uid = pod.metadata?.uid ?? "";
    const nodeName = pod.spec?.nodeName ?? "";
    expect(qemuPidsOf(nodeName)).toHaveLength(1);
    expect(vmDirsOf(nodeName).filter((d) => existsSync(d))).toHaveLength(1);
    await core.deleteNamespacedPod({ namespace: NAMESPACE, name: "a", gracePeriodSeconds: 0 });
    await pollUntil("pod a's QEMU, VM files, node and secrets to be gone", async () => {
      const node = await core.readNode({ name: nodeName }).catch(() => undefined);
      const secrets = (await core.listNamespacedSecret({ namespace: KUBE_SYSTEM_NAMESPACE, labelSelector: `${OWNED_LABELS.podUid}=${uid}` })).items;
      const gone = qemuPidsOf(nodeName).length === 0 && vmDirsOf(nodeName).every((d) => !existsSync(d));
      return gone && node === undefined && secrets.length === 0 && (await vmisOf(uid)).length === 0 ? true : undefined;
    }, { timeoutMs: 180_000, intervalMs: 2_000 });
  }, 240_000);
});

/** The directories the runtime said it made for the VMI (its "QEMU started" log lines). */
function vmDirsOf(vmiName: string): string[] {
  return logEntries().filter((e) => e.msg === "QEMU started" && e.vmi === `${DEFAULT_VM_NAMESPACE}/${vmiName}` && typeof e.vmDir === "string").map((e) => String(e.vmDir));
}

const logEntries = (): Record<string, unknown>[] => dev.logEntries();

function kcOf(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

/** Waits for the Job pod's first VMI to run, SIGKILLs its QEMU, and resolves to that VMI's name and UID. */
async function killFirstVmOfJobPod(): Promise<{ name: string; uid: string }> {
  const pod = await pollUntil("the Job's pod", async () => (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: "job-name=b" })).items[0], { timeoutMs: 60_000, intervalMs: 500 });
  const uid = pod.metadata?.uid ?? "";
  const vmi = await pollUntil("the Job pod's VMI to be Running", async () => (await vmisOf(uid)).find((v) => v.status?.phase === "Running"), { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 500 });
  const name = vmi.metadata?.name ?? "";
  const pids = qemuPidsOf(name);
  expect(pids).toHaveLength(1);
  for (const pid of pids) process.kill(pid, "SIGKILL");
  return { name, uid: vmi.metadata?.uid ?? "" };
}
