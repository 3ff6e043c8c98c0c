/**
 * The real-VM benchmark: `npm run bench:vm -- [--pods K] [--out DIR]`.
 *
 * Starts `maroonedpods dev --vm-runtime qemu`, then
 * 1. cold: K marooned pods at once, each booting its own QEMU VM; per pod, when each step happened (the
 *    benchmark's watch stamps, the runtime's boot timeline, API timestamps: bench/vm-phases.ts) and the
 *    controller's share of create → Running (target ≤ 1%, printed PASS/MISS);
 * 2. warm: the pool filled to K (its fill time), then K pods at once that claim its VMs.
 * Prints a table and writes DIR/vm-<timestamp>.json. Exits 0 unless the run fails or the dev process does not
 * exit 0 on SIGTERM (2 on bad flags): it is a record, not a gate.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig, VersionApi, type V1Pod } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { pino } from "pino";
import { OWNED_LABELS } from "../src/api/conditions.ts";
import { DEFAULT_VM_NAMESPACE, MAROON_LABEL, MAROON_LABEL_VALUE } from "../src/api/names.ts";
import { integerFlag } from "../src/cli/command.ts";
import { startDevProcess, type DevProcess } from "../src/devcluster/dev-process.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { checkNodeVmImagePrerequisites } from "../src/qemu/image.ts";
import { SHELL_IMAGE } from "../src/qemu/images.ts";
import { checkRuntimeTools } from "../src/qemu/prerequisites.ts";
import { pollUntil } from "../src/util/poll.ts";
import { parseFlags, runBenchmark } from "./cli.ts";
import { markFirst } from "./phases.ts";
import { drainPool, setPoolSize, waitForPoolAvailable } from "./pool.ts";
import { startTimelineRecorder, type TimelineRecorder } from "./recorder.ts";
import { formatTable } from "./table.ts";
import { CONTROLLER_SHARE_TARGET, intervalLabel, podPhases, SOURCES, STEPS, summarizeRun, type PodKind, type PodPhases, type RunSummary } from "./vm-phases.ts";
import { createNamespaces, RUN_LABEL } from "./workload.ts";

const DEFAULT_OUT = fileURLToPath(new URL("./results/", import.meta.url));
const NAMESPACE = "bench-vm";
/** The first run on a machine builds the node image and the control plane (many minutes on two cores). */
const DEV_READY_TIMEOUT_MS = 45 * 60_000;
/** Two VMs boot at once, a few minutes each under TCG. */
const RUNNING_TIMEOUT_MS = 25 * 60_000;
const GONE_TIMEOUT_MS = 5 * 60_000;
const USAGE = "usage: npm run bench:vm -- [--pods K] [--out DIR]";
const HELP = `${USAGE}
  --pods K   marooned pods per run, created at once: K cold, then a warm pool of K and K pods claiming it (default 2)
  --out DIR  where vm-<timestamp>.json goes (default bench/results)
`;

interface VmBenchOptions {
  readonly pods: number;
  readonly out: string;
}

function parseOptions(argv: readonly string[]): VmBenchOptions | "help" {
  const values = parseFlags(argv, {
    pods: { type: "string", default: "2" },
    out: { type: "string", default: DEFAULT_OUT },
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help";
  return { pods: integerFlag("pods", values.pods, 1), out: resolve(values.out) };
}

const vmiRef = { group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE };
const log = (line: string) => process.stderr.write(`bench:vm: ${line}\n`);

interface Clients {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly recorder: TimelineRecorder;
  /** Throws once the dev process has exited: every wait stops early then. */
  readonly alive: () => void;
}

const shellPod = (run: PodKind, name: string): V1Pod => ({
  metadata: { name, namespace: NAMESPACE, labels: { [MAROON_LABEL]: MAROON_LABEL_VALUE, [RUN_LABEL]: `vm-${run}` } },
  spec: { containers: [{ name: "main", image: SHELL_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", "echo ok; exec sleep 3600"] }] },
});

async function vmisOf(custom: CustomObjectsApi, labelSelector: string): Promise<V1VirtualMachineInstance[]> {
  return ((await custom.listNamespacedCustomObject({ ...vmiRef, labelSelector })) as { items: V1VirtualMachineInstance[] }).items;
}

/** Creates K pods at once, waits for each to run, and reads what it needs to place every step in time. */
async function measurePods(c: Clients, kind: PodKind, count: number): Promise<PodPhases[]> {
  const names = Array.from({ length: count }, (_, i) => `${kind}-${i + 1}`);
  log(`${kind}: creating ${count} pods`);
  const created = await Promise.all(names.map(async (name) => {
    const sent = Date.now();
    const pod = await c.core.createNamespacedPod({ namespace: NAMESPACE, body: shellPod(kind, name) });
    const seen = c.recorder.timeline(pod.metadata?.uid ?? "");
    markFirst(seen, "createSent", sent);
    markFirst(seen, "gated", Date.now());
    return { name, uid: pod.metadata?.uid ?? "" };
  }));
  const running = await pollUntil(`${count} ${kind} pods to be Running`, async () => {
    const pods = (await c.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${RUN_LABEL}=vm-${kind}` })).items;
    return pods.length === count && pods.every((p) => p.status?.phase === "Running") ? pods : undefined;
  }, { timeoutMs: RUNNING_TIMEOUT_MS, intervalMs: 2_000, check: c.alive });
  return Promise.all(created.map(async ({ name, uid }) => {
    const pod = running.find((p) => p.metadata?.uid === uid) ?? await c.core.readNamespacedPod({ namespace: NAMESPACE, name });
    const [vmi] = await vmisOf(c.custom, `${OWNED_LABELS.podUid}=${uid}`);
    const node = pod.spec?.nodeName ? await c.core.readNode({ name: pod.spec.nodeName }).catch(() => undefined) : undefined;
    const events = (await c.core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.uid=${uid}` })).items;
    return podPhases(name, kind, { seen: c.recorder.timeline(uid), pod, vmi, node, events });
  }));
}

async function deletePods(c: Clients, kind: PodKind, pods: readonly PodPhases[]): Promise<void> {
  const uids = (await c.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${RUN_LABEL}=vm-${kind}` })).items.map((p) => p.metadata?.uid ?? "");
  await Promise.all(pods.map((p) => c.core.deleteNamespacedPod({ namespace: NAMESPACE, name: p.name, gracePeriodSeconds: 0 })));
  await pollUntil(`the ${kind} pods and their VMIs to be gone`, async () => {
    const left = (await c.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${RUN_LABEL}=vm-${kind}` })).items.length;
    const vmis = uids.length === 0 ? [] : await vmisOf(c.custom, `${OWNED_LABELS.podUid} in (${uids.join(",")})`);
    return left === 0 && vmis.length === 0 ? true : undefined;
  }, { timeoutMs: GONE_TIMEOUT_MS, intervalMs: 2_000, check: c.alive });
}

/** Sets the pool to K and resolves to the ms until status.warmPool.available = K (polled each second). */
async function fillPool(c: Clients, size: number): Promise<number> {
  log(`warm: filling the pool to ${size}`);
  const start = Date.now();
  await setPoolSize(c.custom, size);
  await waitForPoolAvailable(c.custom, size, { timeoutMs: RUNNING_TIMEOUT_MS, intervalMs: 1_000, check: c.alive });
  return Date.now() - start;
}

// --- report -------------------------------------------------------------------

const seconds = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? "n/a" : (value / 1000).toFixed(3));
const percent = (share: number | undefined): string => (share === undefined ? "n/a" : `${(share * 100).toFixed(2)}%`);

function phaseTable(kind: PodKind, pods: readonly PodPhases[]): string[] {
  const steps = STEPS[kind];
  const rows = steps.slice(1).map((to, i) => {
    const from = steps[i] ?? to;
    const cells = pods.map((p) => seconds(p.intervals.find((x) => x.from === from && x.to === to)?.ms));
    const sources = [...new Set(pods.map((p) => p.steps[to]?.source ?? "n/a"))].join("/");
    return [intervalLabel(from, to), ...cells, sources];
  });
  rows.push(["create → Running", ...pods.map((p) => seconds(p.createToRunningMs)), ""]);
  rows.push([`controller (${kind === "cold" ? "created → VMI, Ready → released" : "created → released"})`, ...pods.map((p) => seconds(p.controllerMs)), ""]);
  rows.push(["controller share", ...pods.map((p) => percent(p.controllerShare)), ""]);
  if (kind === "warm") rows.push(["claimed a pool VM", ...pods.map((p) => (p.claim.claimed ? `yes` : `no (${p.claim.reason ?? "?"})`)), ""]);
  return formatTable([`${kind} (s)`, ...pods.map((p) => p.name), "end's source"], rows);
}

interface VmBenchResult {
  readonly startedAt: string;
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly memoryGiB: number; readonly accelerator: string; readonly acceleratorReason: string };
  readonly kubernetesVersion: string;
  readonly options: { readonly pods: number };
  readonly sources: typeof SOURCES;
  readonly cold: { readonly pods: readonly PodPhases[]; readonly summary: RunSummary };
  readonly warm: { readonly poolFillMs: number; readonly pods: readonly PodPhases[]; readonly summary: RunSummary };
  readonly target: { readonly name: string; readonly limit: number; readonly value: number | undefined; readonly met: boolean };
  readonly devExitCode: number | null;
}

function report(result: VmBenchResult): void {
  const out = (line = "") => process.stdout.write(`${line}\n`);
  const { machine } = result;
  out(`real-VM benchmark: ${result.options.pods} pods cold, then ${result.options.pods} from a warm pool of ${result.options.pods}`);
  out(`machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.accelerator.toUpperCase()} (${machine.acceleratorReason}); Kubernetes ${result.kubernetesVersion}`);
  out();
  for (const line of phaseTable("cold", result.cold.pods)) out(line);
  out();
  out(`  warm pool fill (size 0 → ${result.options.pods} available): ${seconds(result.warm.poolFillMs)} s`);
  for (const line of phaseTable("warm", result.warm.pods)) out(line);
  out();
  out("  sources:");
  for (const [key, text] of Object.entries(SOURCES)) out(`    ${key.padEnd(10)}${text}`);
  out();
  const { target } = result;
  out(`  target ${target.name}: ${percent(target.value)} <= ${percent(target.limit)}  ${target.met ? "PASS" : "MISS"}`);
}

/** Steps as ISO times in the results file, to be read beside the API's own. */
const forFile = (pods: readonly PodPhases[]) => pods.map((p) => ({
  ...p, steps: Object.fromEntries(Object.entries(p.steps).map(([name, step]) => [name, { at: new Date(step.at).toISOString(), source: step.source }])),
}));

// --- main ---------------------------------------------------------------------

async function bench(options: VmBenchOptions): Promise<number> {
  // Each names its one-line fix (apt-get install ...).
  await checkNodeVmImagePrerequisites();
  await checkRuntimeTools();
  const dir = await mkdtemp(join(tmpdir(), "maroonedpods-bench-vm-"));
  const startedAt = new Date();
  const kubeconfig = join(dir, "kubeconfig");
  let dev: DevProcess | undefined;
  let recorder: TimelineRecorder | undefined;
  try {
    log("starting maroonedpods dev --vm-runtime qemu");
    dev = await startDevProcess(["--vm-runtime", "qemu", "--kubeconfig-out", kubeconfig, "--log-format", "json"], DEV_READY_TIMEOUT_MS);
    const running = dev;
    const accel = running.logEntries().find((e) => typeof e.msg === "string" && e.msg.startsWith("VMs run under"));
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const kubernetesVersion = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
    await createNamespaces(kc, [NAMESPACE]);
    const logger = pino({ level: process.env.MAROONEDPODS_BENCH_LOG_LEVEL ?? "warn", base: undefined }, process.stderr);
    recorder = await startTimelineRecorder({ kubeConfig: kc, logger, podSelector: RUN_LABEL, vmNamespace: DEFAULT_VM_NAMESPACE, clock: Date.now });
    const c: Clients = {
      core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), recorder,
      alive: () => { if (running.child.exitCode !== null || running.child.signalCode !== null) throw new Error(`dev exited; its output:\n${running.output().slice(-5_000)}`); },
    };

    const cold = await measurePods(c, "cold", options.pods);
    await deletePods(c, "cold", cold);
    const poolFillMs = await fillPool(c, options.pods);
    const warm = await measurePods(c, "warm", options.pods);
    await deletePods(c, "warm", warm);
    await drainPool(c.custom, DEFAULT_VM_NAMESPACE, { timeoutMs: GONE_TIMEOUT_MS, intervalMs: 2_000, check: c.alive });
    recorder.stop();
    recorder = undefined;
    log("stopping maroonedpods dev (SIGTERM)");
    const devExitCode = await dev.stop();
    dev = undefined;

    const coldSummary = summarizeRun(cold);
    const value = coldSummary.controllerShareMax;
    const result: VmBenchResult = {
      startedAt: startedAt.toISOString(),
      machine: {
        cores: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
        accelerator: typeof accel?.accelerator === "string" ? accel.accelerator : "unknown", acceleratorReason: typeof accel?.reason === "string" ? accel.reason : "not logged",
      },
      kubernetesVersion,
      options: { pods: options.pods },
      sources: SOURCES,
      cold: { pods: cold, summary: coldSummary },
      warm: { poolFillMs, pods: warm, summary: summarizeRun(warm) },
      target: { name: "cold controller share (largest pod)", limit: CONTROLLER_SHARE_TARGET, value, met: value !== undefined && value <= CONTROLLER_SHARE_TARGET },
      devExitCode,
    };
    report(result);
    await mkdir(options.out, { recursive: true });
    const file = join(options.out, `vm-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
    await writeFile(file, `${JSON.stringify({ ...result, cold: { ...result.cold, pods: forFile(cold) }, warm: { ...result.warm, pods: forFile(warm) } }, null, 2)}\n`);
    process.stdout.write(`\nresults: ${file}\n`);
    if (devExitCode !== 0) {
      process.stderr.write(`bench:vm: maroonedpods dev exited with ${String(devExitCode)} on SIGTERM, not 0\n`);
      return 1;
    }
    return 0;
  } finally {
    recorder?.stop();
    await dev?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await runBenchmark({ name: "bench:vm", help: HELP, parse: parseOptions, run: bench }, process.argv.slice(2));
