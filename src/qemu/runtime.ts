import { mkdir, readFile, rm } from "node:fs/promises";
import { cpus, freemem } from "node:os";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import { createVmiStore, startKubevirtStandin, watchVmis } from "../kubevirt/standin.ts";
import { statusAfterPhases, type BootPhase, type PhaseTransition } from "../kubevirt/vmi-status.ts";
import { probeAccelerator, type Accelerator } from "./accel.ts";
import { lastLines, LAST_BOOT_MILESTONE, scanSerialChunk, type BootMilestone } from "./boot-timeline.ts";
import { BootSlots } from "./boot-slots.ts";
import { BOOT_TIMELINE_ANNOTATION, FAILURE_SERIAL_LINES, QEMU_HOST_NODE, QEMU_RUNTIME_COMPONENT, QEMU_RUNTIME_DEFAULTS } from "./constants.ts";
import { startDnsmasq, type DhcpHost, type Dnsmasq } from "./dnsmasq.ts";
import { run } from "./exec.ts";
import { removeLeftovers } from "./leftovers.ts";
import { createBridge, createTap, deleteLink } from "./network.ts";
import { freeTapIndex, guestHostname, macFor, nextFreeIp, parseSubnet } from "./network-plan.ts";
import { spawnOwned, type OwnedProcess, type ProcessExit } from "./owned-process.ts";
import { checkPrerequisites } from "./prerequisites.ts";
import { qemuArgs } from "./qemu-args.ts";
import { qmpExecute } from "./qmp.ts";
import { metaDataFor, userDataFor, writeSeedIso } from "./seed.ts";
import { tailSerialLog, type SerialTail } from "./serial-tail.ts";
import { vmSizeFor } from "./sizing.ts";
import type { NodeVmImage } from "./types.ts";

const STEP_ATTEMPTS = 8;
const STEP_RETRY_BASE_MS = 250;
const QMP_COMMAND_TIMEOUT_MS = 2_000;

export interface QemuVmRuntimeOptions {
  /** What every VM boots; never written (each VM gets a qcow2 overlay over the rootfs). */
  readonly image: NodeVmImage;
  /** The runtime's own directory: VM directories, serial logs, dnsmasq's files. Leftovers of a crashed runtime there are removed at start. */
  readonly workDir: string;
  /** The VMs' IPv4 subnet; the bridge (the gateway, `gatewayIp`) takes its first address. Default 10.77.0.0/24. */
  readonly subnet?: string;
  /** At most this many VMs booting at once; the rest stay Scheduling. Default 2. */
  readonly maxBooting?: number;
  /** From system_powerdown to SIGKILL when a VM is stopped. Default 5 s. */
  readonly stopGraceMs?: number;
  /** A boot that never logs its last milestone gives up its slot after this. Default 10 min. */
  readonly bootSlotTimeoutMs?: number;
  /** Told of each VM's start, milestones, exit and removal: for tests and tools that watch VMs from outside. */
  readonly onVmEvent?: (event: QemuVmEvent) => void;
}

export type QemuVmEvent =
  | { type: "started"; vmi: string; uid: string; pid: number; ip: string; mac: string; tap: string; vmDir: string; serialLog: string }
  | { type: "milestone"; vmi: string; milestone: BootMilestone; seconds: number }
  | { type: "exited"; vmi: string; pid: number; code: number | null; signal: string | null; stoppedByUs: boolean }
  | { type: "removed"; vmi: string; vmDir: string };

export interface QemuVmRuntime {
  /** The bridge's address: the host as the guests reach it (serve the API server there for guests to join). */
  readonly gatewayIp: string;
  readonly accelerator: Accelerator;
  stop(): Promise<void>;
}

/** Read through a call: a VM can be gone after any await, which TypeScript's narrowing of a property does not know. */
const isGone = (vm: Vm): boolean => vm.gone;

interface Vm {
  readonly key: string;
  readonly vmi: V1VirtualMachineInstance;
  readonly uid: string;
  readonly vmDir: string;
  readonly serialLog: string;
  transitions: PhaseTransition[];
  /** Set once the VMI is deleted or the runtime stops: every step checks it after each await. */
  gone: boolean;
  ip?: string;
  mac?: string;
  tapIndex?: number;
  tapCreated?: boolean;
  process?: OwnedProcess;
  startedAt?: number;
  tail?: SerialTail;
  serialCarry: string;
  readonly timeline: Partial<Record<BootMilestone | "qemuStarted", string>>;
  annotationWrites: Promise<unknown>;
  slotTimer?: NodeJS.Timeout;
  booting?: Promise<void>;
  teardown?: Promise<void>;
  released?: boolean;
}

/**
 * The KubeVirt stand-in's real runtime: each VMI is a QEMU VM on this machine, as virt-handler and virt-launcher
 * would run it. Runs inside a network namespace of its own (the caller's), where it owns a bridge, a tap per VM and
 * a DHCP server that gives each VM its VMI's IP. Installs the VMI CRD and virt-api's webhook like the simulator.
 */
export async function startQemuVmRuntime(deps: { kubeConfig: KubeConfig; logger: Logger; options: QemuVmRuntimeOptions }): Promise<QemuVmRuntime> {
  const { kubeConfig, options } = deps;
  const logger = deps.logger.child({ component: QEMU_RUNTIME_COMPONENT });
  const subnet = parseSubnet(options.subnet ?? QEMU_RUNTIME_DEFAULTS.subnet);
  const { bridge, tapPrefix } = QEMU_RUNTIME_DEFAULTS;
  const stopGraceMs = options.stopGraceMs ?? QEMU_RUNTIME_DEFAULTS.stopGraceMs;
  const bootSlotTimeoutMs = options.bootSlotTimeoutMs ?? QEMU_RUNTIME_DEFAULTS.bootSlotTimeoutMs;
  const vmsDir = join(options.workDir, "vms");
  const netDir = join(options.workDir, "net");
  const serialDir = join(options.workDir, "serial");
  const emit = (event: QemuVmEvent) => options.onVmEvent?.(event);

  await checkPrerequisites(options.image);
  const accelerator = await probeAccelerator();
  logger.info({ accelerator: accelerator.kind, reason: accelerator.reason }, `VMs run under ${accelerator.kind.toUpperCase()}`);
  await removeLeftovers({ workDir: options.workDir, vmsDir, netDir, bridge, tapPrefix, logger });
  await Promise.all([vmsDir, netDir, serialDir].map((dir) => mkdir(dir, { recursive: true })));

  const cleanups: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => { logger.warn({ err: error }, "cleanup step failed"); });
  };
  let dnsmasq: Dnsmasq;
  try {
    await createBridge(bridge, subnet.gatewayIp, subnet.prefixLength);
    cleanups.push(() => deleteLink(bridge));
    logger.info({ bridge, gatewayIp: subnet.gatewayIp, subnet: subnet.cidr }, "VM bridge up");
    dnsmasq = await startDnsmasq({ bridge, subnet, dir: netDir, logger });
    cleanups.push(() => dnsmasq.stop());
    const standin = await startKubevirtStandin({ kubeConfig, logger, fieldManager: QEMU_RUNTIME_COMPONENT });
    cleanups.push(() => standin.close());
  } catch (error) {
    await undo();
    throw error;
  }

  const store = createVmiStore(kubeConfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  /** By VMI UID: a VMI deleted and created again under its name is another VM, maybe while the first still stops. */
  const vms = new Map<string, Vm>();
  const slots = new BootSlots(options.maxBooting ?? QEMU_RUNTIME_DEFAULTS.maxBooting);
  let lastIp: string | undefined;
  let stopping = false;

  /** A write to the API server, retried with backoff (it may be restarting) until it works or the VM is gone. */
  const retried = async <T>(vm: Vm, what: string, write: () => Promise<T>): Promise<T | undefined> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (vm.gone || attempt >= STEP_ATTEMPTS) throw error;
        logger.warn({ vmi: vm.key, err: error, attempt }, `${what} failed; retrying`);
        await new Promise((resolve) => setTimeout(resolve, STEP_RETRY_BASE_MS * 2 ** attempt));
      }
    }
  };

  const setPhases = async (vm: Vm, phases: [BootPhase | "Failed", ...(BootPhase | "Failed")[]], reason?: string) => {
    const status = statusAfterPhases(vm.transitions, phases, new Date(), { ip: vm.ip ?? "", hostNode: QEMU_HOST_NODE, reason });
    await retried(vm, `VMI phase ${phases.join(",")}`, () => store.patchStatus(vm.vmi.metadata?.namespace ?? "", vm.vmi.metadata?.name ?? "", status));
    vm.transitions = status.phaseTransitionTimestamps;
    logger.info({ vmi: vm.key, phase: phases[phases.length - 1] }, "VMI phase");
  };

  const dhcpHosts = (): DhcpHost[] =>
    [...vms.values()].flatMap((vm) => (vm.ip && vm.mac ? [{ mac: vm.mac, ip: vm.ip, hostname: guestHostname(vm.vmi) }] : []));

  const releaseSlot = (vm: Vm) => {
    clearTimeout(vm.slotTimer);
    for (const uid of slots.release(vm.uid)) {
      const next = vms.get(uid);
      if (next && !next.gone) next.booting = boot(next);
    }
  };

  /** Everything a VM holds on the host, released once its QEMU is gone; safe to call twice. */
  const releaseResources = async (vm: Vm) => {
    releaseSlot(vm);
    if (vm.released) return;
    vm.released = true;
    await vm.tail?.stop();
    vm.tail = undefined;
    await vm.annotationWrites;
    if (vm.tapCreated && vm.tapIndex !== undefined) await deleteLink(`${tapPrefix}${vm.tapIndex}`).catch((error: unknown) => { logger.warn({ vmi: vm.key, err: error }, "could not delete the tap"); });
    vm.tapCreated = false;
    if (vm.mac) {
      vm.mac = undefined;
      await dnsmasq.setHosts(dhcpHosts()).catch((error: unknown) => { logger.warn({ vmi: vm.key, err: error }, "could not drop the DHCP entry"); });
    }
    await rm(vm.vmDir, { recursive: true, force: true });
    emit({ type: "removed", vmi: vm.key, vmDir: vm.vmDir });
  };

  const failureReason = async (exit: ProcessExit, vm: Vm): Promise<string> => {
    const how = exit.error ? `could not run: ${exit.error}` : exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? "?"}`;
    // QEMU's own complaint (a bad option, a missing file) is in its log, not on the serial console.
    const own = lastLines(await readFile(join(vm.vmDir, "qemu.log"), "utf8").catch(() => ""), FAILURE_SERIAL_LINES);
    const serial = lastLines(await readFile(vm.serialLog, "utf8").catch(() => ""), FAILURE_SERIAL_LINES);
    return `QEMU ${how}${own.length > 0 ? `: ${own.join(" | ")}` : ""}${serial.length > 0 ? `; last serial lines: ${serial.join(" | ")}` : ""}`;
  };

  const onExit = async (vm: Vm, process: OwnedProcess, exit: ProcessExit) => {
    const stoppedByUs = process.stopping;
    emit({ type: "exited", vmi: vm.key, pid: process.pid, code: exit.code, signal: exit.signal, stoppedByUs });
    if (stoppedByUs) return;
    const reason = await failureReason(exit, vm);
    logger.warn({ vmi: vm.key, pid: process.pid, code: exit.code, signal: exit.signal, serialLog: vm.serialLog, reason }, "VM ended on its own; VMI Failed");
    await releaseResources(vm);
    await setPhases(vm, ["Failed"], reason).catch((error: unknown) => { logger.warn({ vmi: vm.key, err: error }, "could not mark the VMI Failed"); });
  };

  const onSerial = (vm: Vm, chunk: string) => {
    const scan = scanSerialChunk(vm.serialCarry, chunk, new Set(Object.keys(vm.timeline) as BootMilestone[]));
    vm.serialCarry = scan.carry;
    if (scan.found.length === 0) return;
    const now = new Date();
    const seconds = Math.round((now.getTime() - (vm.startedAt ?? now.getTime())) / 100) / 10;
    for (const milestone of scan.found) {
      vm.timeline[milestone] = now.toISOString();
      logger.info({ vmi: vm.key, milestone, seconds }, "boot milestone");
      emit({ type: "milestone", vmi: vm.key, milestone, seconds });
      if (milestone === LAST_BOOT_MILESTONE) releaseSlot(vm);
    }
    const timeline = JSON.stringify(vm.timeline);
    vm.annotationWrites = vm.annotationWrites
      .then(() => store.patchAnnotations(vm.vmi.metadata?.namespace ?? "", vm.vmi.metadata?.name ?? "", { [BOOT_TIMELINE_ANNOTATION]: timeline }))
      .catch((error: unknown) => { logger.warn({ vmi: vm.key, err: error }, "could not record the boot timeline"); });
  };

  const waitForQmp = async (vm: Vm, process: OwnedProcess, socket: string) => {
    const deadline = Date.now() + QEMU_RUNTIME_DEFAULTS.qmpReadyTimeoutMs;
    const state = { exited: false };
    void process.exited.then(() => {
      state.exited = true;
    });
    for (;;) {
      if (state.exited || isGone(vm)) return false;
      try {
        await qmpExecute(socket, "query-status", QMP_COMMAND_TIMEOUT_MS);
        return true;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`QEMU's QMP socket did not answer in ${QEMU_RUNTIME_DEFAULTS.qmpReadyTimeoutMs} ms`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };

  /** From a boot slot to Running: the VM's files, tap and lease, then QEMU, then Running once QMP answers. */
  const boot = async (vm: Vm) => {
    try {
      const { namespace = "", name = "" } = vm.vmi.metadata ?? {};
      const taken = [...vms.values()].filter((other) => other !== vm);
      vm.ip = nextFreeIp(subnet, new Set(taken.flatMap((o) => (o.ip ? [o.ip] : []))), lastIp);
      if (!vm.ip) throw new Error(`no free address left in ${subnet.cidr}`);
      lastIp = vm.ip;
      vm.tapIndex = freeTapIndex(new Set(taken.flatMap((o) => (o.tapIndex !== undefined ? [o.tapIndex] : []))));
      const userData = await userDataFor(vm.vmi, async (ns, secret) => (await core.readNamespacedSecret({ namespace: ns, name: secret })).data);
      if (isGone(vm)) return;
      await mkdir(vm.vmDir, { recursive: true });
      const seedIso = await writeSeedIso(vm.vmDir, { userData, metaData: metaDataFor(vm.vmi) });
      const overlay = join(vm.vmDir, "overlay.qcow2");
      await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", options.image.rootfs, "-F", "raw", overlay]);
      const tap = `${tapPrefix}${vm.tapIndex}`;
      await createTap(tap, bridge);
      vm.tapCreated = true;
      vm.mac = macFor(vm.uid, new Set(taken.flatMap((o) => (o.mac ? [o.mac] : []))));
      await dnsmasq.setHosts(dhcpHosts());
      if (isGone(vm)) return;
      await setPhases(vm, ["Scheduled"]);
      const size = vmSizeFor(vm.vmi, { cpus: cpus().length, freeMemoryBytes: freemem(), freeMemoryShare: QEMU_RUNTIME_DEFAULTS.freeMemoryShare });
      if (size.capped.length > 0) logger.warn({ vmi: vm.key, capped: size.capped }, "VM capped to what this machine has");
      const qmpSocket = join(vm.vmDir, "qmp.sock");
      const args = qemuArgs({
        name: `${namespace}_${name}`, image: options.image, accelArgs: accelerator.qemuArgs, vcpus: size.vcpus, memoryMiB: size.memoryMiB,
        overlay, seedIso, tap, mac: vm.mac, serialLog: vm.serialLog, qmpSocket,
      });
      if (isGone(vm)) return;
      const process = spawnOwned("qemu-system-x86_64", [...args, "-pidfile", join(vm.vmDir, "qemu.pid")], { logFile: join(vm.vmDir, "qemu.log"), watch: "pdeathsig" });
      vm.process = process;
      vm.startedAt = Date.now();
      vm.timeline.qemuStarted = new Date(vm.startedAt).toISOString();
      vm.slotTimer = setTimeout(() => {
        logger.warn({ vmi: vm.key, seconds: bootSlotTimeoutMs / 1000 }, `no ${LAST_BOOT_MILESTONE} yet; giving the boot slot up`);
        releaseSlot(vm);
      }, bootSlotTimeoutMs);
      void process.exited.then((exit) => onExit(vm, process, exit));
      vm.tail = tailSerialLog(vm.serialLog, { intervalMs: QEMU_RUNTIME_DEFAULTS.serialPollMs, onChunk: (chunk) => { onSerial(vm, chunk); } });
      logger.info({ vmi: vm.key, pid: process.pid, ip: vm.ip, mac: vm.mac, tap, vcpus: size.vcpus, memoryMiB: size.memoryMiB, serialLog: vm.serialLog, vmDir: vm.vmDir }, "QEMU started");
      emit({ type: "started", vmi: vm.key, uid: vm.uid, pid: process.pid, ip: vm.ip, mac: vm.mac, tap, vmDir: vm.vmDir, serialLog: vm.serialLog });
      if (await waitForQmp(vm, process, qmpSocket)) await setPhases(vm, ["Running"]);
    } catch (error) {
      if (isGone(vm)) return;
      const reason = `could not start the VM: ${(error as Error).message}`;
      logger.error({ vmi: vm.key, err: error }, reason);
      vm.gone = true;
      await vm.process?.stop(() => Promise.resolve(), 0);
      await releaseResources(vm);
      await setPhases(vm, ["Failed"], reason).catch(() => undefined);
    }
  };

  /** The VMI is gone (or the runtime stops): power the VM down, kill it after the grace period, release it all. */
  const tearDown = (vm: Vm): Promise<void> => {
    vm.gone = true;
    vm.teardown ??= (async (): Promise<void> => {
      // A boot in flight stops at its next step once the VM is gone; what it made by then is released below.
      await vm.booting;
      const process = vm.process;
      if (process) {
        const qmpSocket = join(vm.vmDir, "qmp.sock");
        await process.stop(async () => { await qmpExecute(qmpSocket, "system_powerdown", QMP_COMMAND_TIMEOUT_MS); }, stopGraceMs);
        logger.info({ vmi: vm.key, pid: process.pid }, "VM stopped");
      }
      await releaseResources(vm);
    })();
    return vm.teardown;
  };

  const onVmi = (type: "ADDED" | "MODIFIED" | "DELETED", vmi: V1VirtualMachineInstance) => {
    const { namespace = "", name = "", uid = "" } = vmi.metadata ?? {};
    const key = `${namespace}/${name}`;
    const known = vms.get(uid);
    if (type === "DELETED" || vmi.metadata?.deletionTimestamp) {
      if (known) void tearDown(known).finally(() => vms.delete(uid));
      return;
    }
    if (known || stopping) return;
    const phase = vmi.status?.phase ?? "";
    if (phase === "Failed" || phase === "Succeeded") return;
    const vm: Vm = {
      key, vmi, uid,
      // Named by UID alone: the QMP socket's path inside must stay under the 108 bytes a unix socket path may have.
      vmDir: join(vmsDir, uid),
      serialLog: join(serialDir, `${namespace}_${name}_${uid.slice(0, 8)}.log`),
      transitions: vmi.status?.phaseTransitionTimestamps ?? [],
      gone: false, serialCarry: "", timeline: {}, annotationWrites: Promise.resolve(),
    };
    vms.set(uid, vm);
    if (phase === "Scheduled" || phase === "Running") {
      // Its QEMU died with an earlier runtime (children get SIGKILL with their parent): the VM is lost.
      vm.gone = true;
      void setPhases(vm, ["Failed"], "its VM was lost when the QEMU runtime restarted").catch((error: unknown) => { logger.warn({ vmi: key, err: error }, "could not mark the VMI Failed"); });
      return;
    }
    void (async () => {
      try {
        const pending: BootPhase[] = (["Pending", "Scheduling"] as const).filter((p) => !vm.transitions.some((t) => t.phase === p));
        const [first, ...rest] = pending;
        if (first) await setPhases(vm, [first, ...rest]);
      } catch (error) {
        logger.warn({ vmi: key, err: error }, "could not move the VMI to Scheduling");
      }
      if (isGone(vm)) return;
      if (slots.request(uid)) await (vm.booting = boot(vm));
      else logger.info({ vmi: key, waitingAt: slots.waitingAt(uid) }, "VMI waits for a boot slot (Scheduling)");
    })();
  };

  const abort = new AbortController();
  try {
    await watchVmis({ kubeConfig, logger, signal: abort.signal }, onVmi);
  } catch (error) {
    abort.abort();
    await undo();
    throw error;
  }

  return {
    gatewayIp: subnet.gatewayIp,
    accelerator,
    async stop() {
      stopping = true;
      abort.abort();
      await Promise.all([...vms.values()].map((vm) => tearDown(vm)));
      await undo();
      logger.info("QEMU VM runtime stopped");
    },
  };
}
