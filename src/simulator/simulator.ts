import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import { isNotFound } from "../kube/errors.ts";
import { createEventRecorder } from "../kube/events.ts";
import { JOIN_INFO_PATH, parseJoinInfo, type JoinInfo } from "../joininfo/join-info.ts";
import { KWOK_MANAGED_LABEL } from "../devcluster/kwok.ts";
import { writtenFileContent } from "./cloud-init.ts";
import { userDataFromSecret, userDataSourceOf } from "../kubevirt/user-data.ts";
import { createVmiStore, startKubevirtStandin, watchVmis } from "../kubevirt/standin.ts";
import { FAULTS_CONFIGMAP, INJECT_FAILURE_ANNOTATION, SIMULATED_HOST_NODE, SIMULATOR_COMPONENT, SIMULATOR_EVENT_REASONS } from "./constants.ts";
import { guestIpFor } from "../kubevirt/api.ts";
import { BOOT_PHASES, statusAfterPhases, type BootPhase, type PhaseTransition } from "../kubevirt/vmi-status.ts";
import { kubeletKubeConfig, obtainKubeletCredentials, registerNode, type KubeletCredentials } from "./guest.ts";
import { guestResourcesOf, simulatedIp } from "./phases.ts";

const STEP_RETRY_BASE_MS = 250;
const STEP_RETRY_CAP_MS = 5_000;

const FIELD_MANAGER = SIMULATOR_COMPONENT;
const JOIN_ATTEMPTS = 10;

export interface SimulatorOptions {
  /** Time spent in each of Pending, Scheduling, Scheduled before the next phase. */
  readonly phaseDelayMs: number;
  /** Time from Running until the guest's agent starts joining (the guest's boot). */
  readonly bootDelayMs: number;
}

interface VmiRuntime {
  readonly key: string;
  /** Set when a planned fault claims this VMI: it fails instead of booting. */
  failWith?: string;
  readonly ip: string;
  readonly timers: Set<NodeJS.Timeout>;
  phase: string;
  /** The simulator is the only writer of a VMI's status, so it keeps the transitions instead of reading them back. */
  transitions: PhaseTransition[];
  nodeName?: string;
  /** The guest kubelet's client certificate, once its CSR was signed. */
  credentials?: KubeletCredentials;
  stopped: boolean;
}

export interface KubevirtSimulator {
  /** Fails a VMI as if its guest crashed: phase Failed, and its node stops heartbeating. */
  failVmi(namespace: string, name: string, reason: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The KubeVirt simulator: the only simulated part of the dev and test
 * environment. It installs KubeVirt's real VMI CRD, rejects VMIs as virt-api
 * would, moves VMIs through their phases, and "boots" each guest by running the
 * node image's join against the real API server (bootstrap token, CSR, Node
 * registration as the node's own identity), after which kwok plays its kubelet.
 */
export async function startKubevirtSimulator(deps: { kubeConfig: KubeConfig; logger: Logger; options: SimulatorOptions }): Promise<KubevirtSimulator> {
  const { kubeConfig, options } = deps;
  const logger = deps.logger.child({ component: SIMULATOR_COMPONENT });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const events = createEventRecorder(kubeConfig, SIMULATOR_COMPONENT, logger);
  const runtimes = new Map<string, VmiRuntime>();
  let vmiCount = 0;

  const admission = await startKubevirtStandin({ kubeConfig, logger, fieldManager: FIELD_MANAGER });
  const { read: readVmi, patchStatus } = createVmiStore(kubeConfig);

  /**
   * Runs a step of the VMI's life after `ms`. A step that fails (the API server restarting, etcd away) is tried
   * again with backoff, as virt-controller requeues: otherwise the VMI would stay where it was for good.
   */
  const after = (runtime: VmiRuntime, ms: number, step: () => Promise<void>, failures = 0) => {
    const timer = setTimeout(() => {
      runtime.timers.delete(timer);
      if (runtime.stopped) return;
      step().catch((error: unknown) => {
        logger.warn({ vmi: runtime.key, err: error, failures: failures + 1 }, "simulator step failed; retrying");
        after(runtime, Math.min(STEP_RETRY_CAP_MS, STEP_RETRY_BASE_MS * 2 ** failures), step, failures + 1);
      });
    }, ms);
    runtime.timers.add(timer);
  };

  /** A dead guest's kubelet stops heartbeating: take the node away from kwok. */
  const stopGuest = async (runtime: VmiRuntime) => {
    runtime.stopped = true;
    for (const timer of runtime.timers) clearTimeout(timer);
    runtime.timers.clear();
    if (!runtime.nodeName) return;
    try {
      await core.patchNode(
        { name: runtime.nodeName, body: { metadata: { labels: { [KWOK_MANAGED_LABEL]: null } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      logger.info({ vmi: runtime.key, node: runtime.nodeName }, "guest stopped; its node no longer heartbeats");
    } catch (error) {
      if (!isNotFound(error)) logger.warn({ vmi: runtime.key, node: runtime.nodeName, err: error }, "could not stop the guest's kubelet");
    }
  };

  /**
   * Moves the VMI on from BOOT_PHASES[index]. With a phase delay, one phase per step; without one, straight
   * to where it stops (Running, or Scheduled for a planned fault) in a single write, as nothing could
   * observe the phases in between anyway.
   */
  const advance = async (runtime: VmiRuntime, namespace: string, name: string, index: number) => {
    const last = options.phaseDelayMs > 0 ? index : BOOT_PHASES.indexOf(runtime.failWith === undefined ? "Running" : "Scheduled");
    const [first, ...rest] = BOOT_PHASES.slice(index, last + 1);
    if (first === undefined || runtime.stopped) return;
    const phases: [BootPhase, ...BootPhase[]] = [first, ...rest];
    const status = statusAfterPhases(runtime.transitions, phases, new Date(), { ip: runtime.ip, hostNode: SIMULATED_HOST_NODE });
    const vmi = await patchStatus(namespace, name, status);
    if (!vmi) return;
    const phase = phases[phases.length - 1] ?? first;
    runtime.transitions = status.phaseTransitionTimestamps;
    runtime.phase = phase;
    logger.debug({ vmi: runtime.key, phase }, "VMI phase");
    if (phase === "Scheduled" && runtime.failWith !== undefined) after(runtime, options.phaseDelayMs, () => failVmi(namespace, name, runtime.failWith ?? ""));
    else if (phase === "Running") after(runtime, options.bootDelayMs, () => bootGuest(runtime, vmi, 1));
    else after(runtime, options.phaseDelayMs, () => advance(runtime, namespace, name, BOOT_PHASES.indexOf(phase) + 1));
  };

  const readJoinInfo = async (vmi: V1VirtualMachineInstance): Promise<JoinInfo> => {
    const source = userDataSourceOf(vmi);
    let userData: string | undefined;
    if (source.kind === "inline") userData = source.userData;
    if (source.kind === "secret") {
      const secret = await core.readNamespacedSecret({ namespace: vmi.metadata?.namespace ?? "", name: source.secretName });
      userData = userDataFromSecret(secret.data);
      if (userData === undefined) throw new Error(`Secret ${source.secretName} has no userdata key`);
    }
    if (userData === undefined) throw new Error("VMI has no cloud-init user data");
    const file = writtenFileContent(userData, JOIN_INFO_PATH);
    if (!file.ok) throw new Error(file.error);
    const parsed = parseJoinInfo(file.content);
    if (!parsed.ok) throw new Error(`invalid join info: ${parsed.errors.join("; ")}`);
    return parsed.joinInfo;
  };

  const bootGuest = async (runtime: VmiRuntime, vmi: V1VirtualMachineInstance, attempt: number): Promise<void> => {
    try {
      const joinInfo = await readJoinInfo(vmi);
      // A kubelet keeps the client certificate it got: a retry after a lost write must not go back to the token,
      // which the controller deletes as soon as it trusts the node.
      const credentials = (runtime.credentials ??= await obtainKubeletCredentials(joinInfo, logger));
      if (runtime.stopped) return;
      runtime.nodeName = joinInfo.node_name;
      // The kubelet registers the address the guest sees: the pod's IP, unless masquerade NATs it away.
      const ip = guestIpFor(vmi.spec.domain.devices.interfaces?.find((i) => i.name === "default"), runtime.ip);
      await registerNode(kubeletKubeConfig(joinInfo, credentials), joinInfo, { ip, resources: guestResourcesOf(vmi) });
      logger.info({ vmi: runtime.key, node: joinInfo.node_name, ip }, "guest joined the cluster");
      await events.record(vmi, "Normal", SIMULATOR_EVENT_REASONS.GuestJoined, `guest joined as node ${joinInfo.node_name} with IP ${ip}`);
    } catch (error) {
      const message = (error as Error).message;
      logger.warn({ vmi: runtime.key, attempt, err: error }, "guest could not join");
      await events.record(vmi, "Warning", SIMULATOR_EVENT_REASONS.GuestJoinFailed, `attempt ${attempt}: ${message}`);
      // Like a real agent, keep retrying for a while: the cause may be transient.
      if (attempt < JOIN_ATTEMPTS && !runtime.stopped) after(runtime, Math.min(30_000, 1_000 * 2 ** attempt), () => bootGuest(runtime, vmi, attempt + 1));
    }
  };

  const usedFaults = new Set<string>();
  /** The reason to fail this VMI if a planned fault matches it and has not fired yet. */
  const plannedFault = async (vmi: V1VirtualMachineInstance): Promise<string | undefined> => {
    let plan: string | undefined;
    try {
      plan = (await core.readNamespacedConfigMap({ namespace: FAULTS_CONFIGMAP.namespace, name: FAULTS_CONFIGMAP.name })).data?.[FAULTS_CONFIGMAP.key];
    } catch (error) {
      if (!isNotFound(error)) logger.warn({ err: error }, "could not read the fault plan");
      return undefined;
    }
    const labels = vmi.metadata?.labels ?? {};
    for (const rule of (plan ?? "").split("\n").map((line) => line.trim()).filter(Boolean)) {
      const [key, value] = rule.split("=", 2);
      if (key !== undefined && labels[key] === value && !usedFaults.has(rule)) {
        usedFaults.add(rule);
        return `planned fault ${rule}`;
      }
    }
    return undefined;
  };

  const failVmi = async (namespace: string, name: string, reason: string) => {
    const key = `${namespace}/${name}`;
    const vmi = await readVmi(namespace, name);
    if (!vmi) throw new Error(`VMI ${key} not found`);
    const runtime = runtimes.get(key);
    if (runtime) {
      await stopGuest(runtime);
      runtime.phase = "Failed";
    }
    const recorded = runtime?.transitions ?? vmi.status?.phaseTransitionTimestamps ?? [];
    await patchStatus(namespace, name, statusAfterPhases(recorded, ["Failed"], new Date(), { ip: runtime?.ip ?? "", hostNode: SIMULATED_HOST_NODE, reason }));
    await events.record(vmi, "Warning", SIMULATOR_EVENT_REASONS.InjectedFailure, reason);
    logger.info({ vmi: key, reason }, "VMI failed (injected)");
  };

  const onVmi = (type: string, vmi: V1VirtualMachineInstance) => {
    const namespace = vmi.metadata?.namespace ?? "";
    const name = vmi.metadata?.name ?? "";
    const key = `${namespace}/${name}`;
    let runtime = runtimes.get(key);
    if (type === "DELETED" || vmi.metadata?.deletionTimestamp) {
      if (runtime && type === "DELETED") runtimes.delete(key);
      if (runtime && !runtime.stopped) void stopGuest(runtime);
      return;
    }
    const failure = vmi.metadata?.annotations?.[INJECT_FAILURE_ANNOTATION];
    if (failure !== undefined && runtime?.phase !== "Failed" && vmi.status?.phase !== "Failed") {
      if (runtime) runtime.phase = "Failed";
      void failVmi(namespace, name, failure || "failure injected").catch((error: unknown) => {
        logger.warn({ vmi: key, err: error }, "could not inject failure");
      });
      return;
    }
    if (runtime || vmi.status?.phase === "Failed" || vmi.status?.phase === "Succeeded") return;
    runtime = { key, ip: simulatedIp(vmiCount++), timers: new Set(), phase: vmi.status?.phase ?? "", transitions: vmi.status?.phaseTransitionTimestamps ?? [], stopped: false };
    runtimes.set(key, runtime);
    const started = runtime;
    after(started, 0, async () => {
      started.failWith = await plannedFault(vmi);
      await advance(started, namespace, name, 0);
    });
  };

  const abort = new AbortController();
  try {
    await watchVmis({ kubeConfig, logger, signal: abort.signal }, onVmi);
  } catch (error) {
    await admission.close();
    throw error;
  }

  return {
    failVmi,
    async stop() {
      abort.abort();
      for (const runtime of runtimes.values()) {
        runtime.stopped = true;
        for (const timer of runtime.timers) clearTimeout(timer);
      }
      await admission.close();
    },
  };
}
