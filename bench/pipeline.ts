/**
 * The isolation pipeline benchmark: `npm run bench -- [--pods N] [--namespaces K] [--concurrency C] [--workers W] [--background-pods M]`.
 *
 * On the local control plane with the KubeVirt simulator at zero boot delay, it
 * runs the same N pods twice: first the floor (bench/floor.ts: the API writes a
 * perfect controller must make, no webhook, no controller), then the pipeline
 * (the webhook and the controller as processes of their own, as in production).
 * Prints a table, writes bench/results/<timestamp>.json, then one `RESULT {...}`
 * line. Exits 1 when a target (bench/targets.ts) is missed or a run fails, 2 on bad flags.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { RequestOptions } from "node:https";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, VersionApi, type V1Pod } from "@kubernetes/client-node";
import { pino, type Logger } from "pino";
import { integerFlag } from "../src/cli/command.ts";
import { OWNED_LABELS, MANAGED_BY } from "../src/api/conditions.ts";
import { METRIC_NAMES } from "../src/api/metric-names.ts";
import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_RUNTIME_CLASS, DEFAULT_SYSTEM_NAMESPACE, KUBE_SYSTEM_NAMESPACE, NODE_POD_UID_LABEL, SCHEDULING_GATE } from "../src/api/names.ts";
import { resolveConfig, type ControllerConfig } from "../src/controller/config.ts";
import { registerAdmission, writeLoopbackServingCertificate } from "../src/devcluster/admission.ts";
import { startComponentProcess, type ComponentProcess } from "../src/devcluster/component-process.ts";
import { CONTROLLER_NODE_OPTIONS } from "../src/install/workloads.ts";
import { freeLoopbackPort } from "../src/devcluster/ports.ts";
import { serviceAccountKubeConfig } from "../src/devcluster/service-account.ts";
import { shareConnections } from "../src/kube/connections.ts";
import { caCertHashFor } from "../src/joininfo/ca-hash.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { pollUntil } from "../src/util/poll.ts";
import { MUTATE_PODS_PATH } from "../webhook/handler.ts";
import { withIsolationDefaults, type PodObject } from "../webhook/mutation.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../webhook/settings.ts";
import { parseFlags, runBenchmark } from "./cli.ts";
import { createFloorController, type FloorController } from "./floor.ts";
import { getText } from "./http.ts";
import { forEachLimited } from "./limit.ts";
import { PHASES, phaseSummaries, stepCounts, wallTimeMs, type PhaseName, type PodTimeline } from "./phases.ts";
import { processName, processUsage, type ProcessUsage } from "./proc.ts";
import { startTimelineRecorder } from "./recorder.ts";
import { bucketBound, bucketsSince, counterTotals, histogramBuckets, histogramQuantile, shareAtOrUnder, topIncreases, type Buckets, type Summary } from "./stats.ts";
import { formatTable } from "./table.ts";
import { checkTargets, type TargetCheck } from "./targets.ts";
import { benchNamespaces, benchPod, benchPodPlacement, createBackgroundPods, createNamespaces, RUN_LABEL } from "./workload.ts";

const CLI = fileURLToPath(new URL("../bin/maroonedpods.js", import.meta.url));
const CLUSTER_SCRIPT = fileURLToPath(new URL("./cluster.ts", import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));
/** Generous: the first run on a machine builds the control-plane binaries (about 15 minutes on two cores). */
const CLUSTER_READY_TIMEOUT_MS = 40 * 60_000;
const COMPONENT_READY_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_BASE_MS = 120_000;
const RUN_TIMEOUT_PER_POD_MS = 500;
const CLEANUP_TIMEOUT_MS = 10 * 60_000;
const HTTP_TIMEOUT_MS = 30_000;
/** The API server's admission-webhook histogram: its first bucket bounds. */
const APISERVER_WEBHOOK_METRIC = "apiserver_admission_webhook_admission_duration_seconds";
const FAST_BUCKET_SECONDS = 0.005;
/** Ours is the cluster's only mutating webhook (the simulator's virt-api one validates): type "admit". */
const isOurWebhook = (labels: Record<string, string>): boolean => labels.type === "admit";
const USAGE = "usage: npm run bench -- [--pods N] [--namespaces K] [--concurrency C] [--workers W] [--background-pods M]";
const HELP = `${USAGE}
  --pods N             marooned pods per run, created concurrently (default 1000)
  --namespaces K       namespaces they are spread over (default 10)
  --concurrency C      pod creates in flight, in both runs (default 50)
  --workers W          the controller's --workers, and the floor's writes in flight (default 4)
  --background-pods M  unrelated Running pods present throughout (default 5000)
`;

interface BenchOptions {
  readonly pods: number;
  readonly namespaces: number;
  readonly concurrency: number;
  readonly workers: number;
  readonly backgroundPods: number;
}

function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  const values = parseFlags(argv, {
    pods: { type: "string", default: "1000" },
    namespaces: { type: "string", default: "10" },
    concurrency: { type: "string", default: "50" },
    workers: { type: "string", default: "4" },
    "background-pods": { type: "string", default: "5000" },
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help";
  return {
    pods: integerFlag("pods", values.pods, 1),
    namespaces: integerFlag("namespaces", values.namespaces, 1),
    concurrency: integerFlag("concurrency", values.concurrency, 1),
    workers: integerFlag("workers", values.workers, 1),
    backgroundPods: integerFlag("background-pods", values["background-pods"], 0),
  };
}

// --- HTTP ---------------------------------------------------------------------

/** A plain HTTP GET (the components' ops ports). */
const fetchText = (url: string): Promise<string> => getText(url, HTTP_TIMEOUT_MS);

/** A GET on the API server with the kubeconfig's credentials (its /metrics). */
async function fetchFromApiServer(kubeConfig: KubeConfig, path: string): Promise<string> {
  const url = `${kubeConfig.getCurrentCluster()?.server ?? ""}${path}`;
  const options: RequestOptions = { method: "GET" };
  await kubeConfig.applyToHTTPSOptions(options);
  return getText(url, HTTP_TIMEOUT_MS, options);
}

/** Request kinds kept in the results file; the table shows the first few. */
const TOP_REQUEST_KINDS = 30;
const PRINTED_REQUEST_KINDS = 8;

async function apiServerRequests(admin: KubeConfig): Promise<Map<string, number>> {
  const text = await fetchFromApiServer(admin, "/metrics");
  return counterTotals(text, "apiserver_request_total", (l) => `${l.verb ?? ""} ${l.resource ?? ""}${l.subresource ? `/${l.subresource}` : ""}`);
}

// --- one run ------------------------------------------------------------------

interface RunResult {
  readonly wallTimeMs: number;
  readonly podsPerSecond: number;
  readonly phases: Record<PhaseName, Summary>;
  /** CPU seconds each process spent during the run: where the two cores went. */
  readonly cpuSeconds: Record<string, number>;
  /** The API server's busiest request kinds during the run (`VERB resource[/subresource]`: count). */
  readonly apiServerRequests: Record<string, number>;
}

interface NamedProcess {
  readonly name: string;
  readonly pid: number;
}

async function cpuSecondsOf(processes: readonly NamedProcess[]): Promise<Map<string, number>> {
  return new Map(await Promise.all(processes.map(async (p) => [p.name, (await processUsage(p.pid)).cpuSeconds] as const)));
}

/**
 * Creates the run's pods `concurrency` at a time, stamping each pod's steps,
 * and resolves when every one is Running. `create` makes the pod object (the
 * floor's arrives gated already); `created` sees each pod the API server returned.
 */
async function measureRun(options: {
  admin: KubeConfig;
  logger: Logger;
  run: string;
  bench: BenchOptions;
  namespaces: readonly string[];
  vmNamespace: string;
  toCreate: (pod: V1Pod) => V1Pod;
  floor?: FloorController;
  processes: readonly NamedProcess[];
}): Promise<RunResult> {
  const { admin, bench, run } = options;
  const core = admin.makeApiClient(CoreV1Api);
  const clock = () => performance.now();
  const recorder = await startTimelineRecorder({
    kubeConfig: admin, logger: options.logger, podSelector: `${RUN_LABEL}=${run}`, vmNamespace: options.vmNamespace, clock, ...(options.floor ? { nodes: options.floor } : {}),
  });
  const timelines: PodTimeline[] = [];
  const cpuBefore = await cpuSecondsOf(options.processes);
  const requestsBefore = await apiServerRequests(admin);
  try {
    await forEachLimited(Array.from({ length: bench.pods }, (_, i) => i), bench.concurrency, async (i) => {
      const placement = benchPodPlacement(run, i, options.namespaces);
      const body = options.toCreate(benchPod(run, placement));
      const sent = clock();
      const pod = await core.createNamespacedPod({ namespace: placement.namespace, body });
      const answered = clock();
      const uid = pod.metadata?.uid ?? "";
      if (!(pod.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE)) throw new Error(`pod ${placement.namespace}/${placement.name} was created without the scheduling gate`);
      const timeline = recorder.timeline(uid);
      timeline.createSent = sent;
      timeline.gated = answered;
      timelines.push(timeline);
      options.floor?.launch(pod);
    });
    const timeoutMs = RUN_TIMEOUT_BASE_MS + RUN_TIMEOUT_PER_POD_MS * bench.pods;
    const wall = await pollUntil(`${bench.pods} ${run} pods to run`, () => Promise.resolve(wallTimeMs(timelines)), {
      timeoutMs,
      intervalMs: 100,
      check: () => {
        if (options.floor && options.floor.failures.length > 0) throw new Error(`floor writes failed: ${options.floor.failures.slice(0, 3).join("; ")}`);
      },
    }).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; pods per step: ${stepCounts(timelines)}`);
    });
    const cpuAfter = await cpuSecondsOf(options.processes);
    const cpuSeconds = Object.fromEntries([...cpuAfter].map(([name, seconds]) => [name, Number((seconds - (cpuBefore.get(name) ?? 0)).toFixed(2))]));
    const requests = Object.fromEntries(topIncreases(requestsBefore, await apiServerRequests(admin), TOP_REQUEST_KINDS));
    return { wallTimeMs: wall, podsPerSecond: bench.pods / (wall / 1000), phases: phaseSummaries(timelines), cpuSeconds, apiServerRequests: requests };
  } finally {
    recorder.stop();
  }
}

/** Removes every trace of a run (pods, VMIs, Secrets, nodes) and waits until they are gone, so the next run starts clean. */
async function cleanUp(admin: KubeConfig, run: string, namespaces: readonly string[], vmNamespace: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  const customObjects = admin.makeApiClient(CustomObjectsApi);
  const podSelector = `${RUN_LABEL}=${run}`;
  const owned = `${OWNED_LABELS.component}=${MANAGED_BY}`;
  for (const namespace of namespaces) {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: podSelector });
    await forEachLimited(pods.items, 20, async (pod) => {
      await core.patchNamespacedPod({ namespace, name: pod.metadata?.name ?? "", body: { metadata: { finalizers: null } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    });
    await core.deleteCollectionNamespacedPod({ namespace, labelSelector: podSelector, gracePeriodSeconds: 0 });
  }
  await customObjects.deleteCollectionNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: vmNamespace, labelSelector: owned });
  await core.deleteCollectionNamespacedSecret({ namespace: vmNamespace, labelSelector: owned });
  await core.deleteCollectionNamespacedSecret({ namespace: KUBE_SYSTEM_NAMESPACE, labelSelector: owned });
  await core.deleteCollectionNode({ labelSelector: NODE_POD_UID_LABEL });
  await pollUntil(`the ${run} run's objects to go`, async () => {
    const [pods, nodes] = await Promise.all([core.listPodForAllNamespaces({ labelSelector: podSelector, limit: 1 }), core.listNode({ labelSelector: NODE_POD_UID_LABEL, limit: 1 })]);
    return pods.items.length === 0 && nodes.items.length === 0 ? true : undefined;
  }, { timeoutMs: CLEANUP_TIMEOUT_MS, intervalMs: 1_000 });
}

// --- the pipeline's processes ---------------------------------------------------------

interface Pipeline {
  readonly webhook: ComponentProcess;
  readonly controller: ComponentProcess;
  readonly webhookOpsPort: number;
  readonly controllerOpsPort: number;
  stop(): Promise<void>;
}

/** The webhook, registered with its policies, and the controller as its ServiceAccount: each its own process. */
async function startPipeline(admin: KubeConfig, controllerKubeconfigPath: string, dir: string, workers: number, probeNamespace: string): Promise<Pipeline> {
  const tls = await writeLoopbackServingCertificate(dir);
  const port = await freeLoopbackPort();
  const webhook = await startComponentProcess(CLI, [
    "webhook", `--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`, "--bind-address=127.0.0.1", `--port=${port}`,
    "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn",
  ], COMPONENT_READY_TIMEOUT_MS);
  let controller: ComponentProcess | undefined;
  try {
    await registerAdmission(admin, DEFAULT_ADMISSION_SETTINGS, { url: `https://127.0.0.1:${port}${MUTATE_PODS_PATH}`, caPem: tls.caPem });
    await waitForGating(admin, probeNamespace);
    // With the heap bound the Deployment gives it.
    controller = await startComponentProcess(CLI, [
      "controller", `--kubeconfig=${controllerKubeconfigPath}`, "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn", `--workers=${workers}`,
    ], COMPONENT_READY_TIMEOUT_MS, { ...process.env, NODE_OPTIONS: CONTROLLER_NODE_OPTIONS });
    const controllerOpsPort = Number(controller.ready.opsPort);
    // With leader election on, as deployed: measure only once it leads.
    await pollUntil("the controller to lead", async () => (/^maroonedpods_leader 1$/m.test(await fetchText(`http://127.0.0.1:${controllerOpsPort}/metrics`)) ? true : undefined), { timeoutMs: 60_000 });
    const started = controller;
    return {
      webhook,
      controller: started,
      webhookOpsPort: Number(webhook.ready.opsPort),
      controllerOpsPort,
      stop: async () => {
        await started.stop();
        await webhook.stop();
      },
    };
  } catch (error) {
    await controller?.stop();
    await webhook.stop();
    throw error;
  }
}

/** The API server calls a new webhook only once it has loaded its configuration: wait until a dry-run pod comes back gated. */
async function waitForGating(admin: KubeConfig, namespace: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  await pollUntil("the API server to call the webhook", async () => {
    const pod = await core.createNamespacedPod({ namespace, body: benchPod("probe", { namespace, name: "webhook-probe" }), dryRun: "All" });
    return (pod.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE) ? true : undefined;
  }, { timeoutMs: 60_000 });
}

/** Sequential dry-run creates for the webhook-at-rest figure: enough to make a p99, few enough to take seconds. */
const AT_REST_CALLS = 200;
const AT_REST_WARM_UP_CALLS = 20;

/**
 * The webhook as the API server sees it with nothing else in flight: sequential dry-run creates before the
 * run. Set against the run's figure, it separates the webhook's own cost from the API server's wait for CPU.
 */
async function measureAdmissionAtRest(admin: KubeConfig, namespace: string): Promise<Buckets> {
  const core = admin.makeApiClient(CoreV1Api);
  const create = (name: string) => core.createNamespacedPod({ namespace, body: benchPod("at-rest", { namespace, name }), dryRun: "All" });
  const scrape = async () => histogramBuckets(await fetchFromApiServer(admin, "/metrics"), APISERVER_WEBHOOK_METRIC, isOurWebhook);
  // The first calls pay for new connections and cold code on both sides.
  for (let i = 0; i < AT_REST_WARM_UP_CALLS; i++) await create(`warm-up-${i}`);
  const before = await scrape();
  for (let i = 0; i < AT_REST_CALLS; i++) await create(`call-${i}`);
  return bucketsSince(before, await scrape());
}

// --- report ---------------------------------------------------------------------

interface BenchResult {
  readonly startedAt: string;
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly memoryGiB: number };
  readonly kubernetesVersion: string;
  readonly options: BenchOptions;
  readonly pipeline: RunResult;
  readonly floor: RunResult;
  readonly pipelineFloorRatio: number;
  readonly webhook: {
    /** Prometheus-style estimate from the API server's histogram (buckets 5 ms, 25 ms, …). */
    readonly apiServerP99Ms: number | null;
    readonly apiServerShareUnder5Ms: number | null;
    readonly apiServerCalls: number;
    /** The same estimate for sequential calls before the run (measureAdmissionAtRest). */
    readonly apiServerAtRestP99Ms: number | null;
    readonly apiServerAtRestShareUnder5Ms: number | null;
    /** The API server's histogram for the run: cumulative calls per bucket bound (ms). */
    readonly apiServerBuckets: Record<string, number>;
    /** From the webhook's own histogram. */
    readonly ownP99Ms: number | null;
    readonly peakRssMiB: number | null;
  };
  readonly controller: { readonly cpuSeconds: number; readonly peakRssMiB: number | null };
  readonly targets: readonly TargetCheck[];
}

const ms = (seconds: number | undefined): number | null => (seconds === undefined ? null : seconds * 1000);
const round = (value: number | null, digits = 1): number | null => (value === null || !Number.isFinite(value) ? null : Number(value.toFixed(digits)));
const show = (value: number | null, unit = ""): string => (value === null ? "n/a" : `${round(value)}${unit}`);

function report(result: BenchResult): void {
  const out = (line = "") => process.stdout.write(`${line}\n`);
  const { machine, options } = result;
  out(`pipeline benchmark: ${options.pods} pods in ${options.namespaces} namespaces, ${options.backgroundPods} background pods, concurrency ${options.concurrency}, ${options.workers} workers`);
  out(`machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB; Kubernetes ${result.kubernetesVersion}`);
  out();
  const header = ["phase (ms)", "p50", "p95", "p99", "max", "floor p50", "floor p99"];
  const rows = PHASES.map((p) => {
    const s = result.pipeline.phases[p.name];
    const f = result.floor.phases[p.name];
    return [p.label, show(s.p50), show(s.p95), show(s.p99), show(s.max), show(f.p50), show(f.p99)];
  });
  for (const line of formatTable(header, rows)) out(line);
  out();
  const lines: [string, string][] = [
    ["wall time", `pipeline ${show(result.pipeline.wallTimeMs / 1000, " s")} (${show(result.pipeline.podsPerSecond, " pods/s")}), floor ${show(result.floor.wallTimeMs / 1000, " s")} (${show(result.floor.podsPerSecond, " pods/s")})`],
    ["pipeline / floor", show(result.pipelineFloorRatio)],
    ["webhook, API server", `p99 ${show(result.webhook.apiServerP99Ms, " ms")} (${show((result.webhook.apiServerShareUnder5Ms ?? Number.NaN) * 100, "%")} of ${result.webhook.apiServerCalls} calls <= 5 ms)`],
    ["webhook, at rest", `p99 ${show(result.webhook.apiServerAtRestP99Ms, " ms")} (${show((result.webhook.apiServerAtRestShareUnder5Ms ?? Number.NaN) * 100, "%")} of ${AT_REST_CALLS} sequential calls before the run <= 5 ms)`],
    ["webhook, own", `p99 <= ${show(result.webhook.ownP99Ms, " ms")} (bucket bound)`],
    ["webhook peak RSS", show(result.webhook.peakRssMiB, " MiB")],
    ["controller", `${show(result.controller.cpuSeconds, " CPU s")}, peak RSS ${show(result.controller.peakRssMiB, " MiB")}`],
  ];
  const cpu = (run: RunResult) => Object.entries(run.cpuSeconds).sort(([, a], [, b]) => b - a).map(([name, seconds]) => `${name} ${seconds}`).join(", ");
  const requests = (run: RunResult) => Object.entries(run.apiServerRequests).slice(0, PRINTED_REQUEST_KINDS).map(([kind, count]) => `${kind} ${count}`).join(", ");
  lines.push(["CPU s, pipeline", cpu(result.pipeline)], ["CPU s, floor", cpu(result.floor)]);
  lines.push(["requests, pipeline", requests(result.pipeline)], ["requests, floor", requests(result.floor)]);
  for (const [name, value] of lines) out(`  ${name.padEnd(20)}${value}`);
  out();
  for (const check of result.targets) out(`  target ${check.name.padEnd(24)} ${show(check.value).padStart(7)} <= ${check.limit}  ${check.met ? "met" : "MISSED"}`);
}

// --- main ---------------------------------------------------------------------

async function bench(options: BenchOptions): Promise<number> {
  const logger = pino({ level: process.env.MAROONEDPODS_BENCH_LOG_LEVEL ?? "warn", base: undefined }, process.stderr);
  const dir = await mkdtemp(join(tmpdir(), "maroonedpods-bench-"));
  const startedAt = new Date();
  let cluster: ComponentProcess | undefined;
  let pipeline: Pipeline | undefined;
  try {
    process.stderr.write("starting the local control plane, kwok and the KubeVirt simulator\n");
    const adminPath = join(dir, "admin.kubeconfig");
    cluster = await startComponentProcess(CLUSTER_SCRIPT, [adminPath], CLUSTER_READY_TIMEOUT_MS);
    // Every client here shares its connections, as the controller's do (src/kube/connections.ts).
    const admin = shareConnections(new KubeConfig());
    admin.loadFromFile(adminPath);
    const clusterPids = (cluster.ready.pids as number[] | undefined) ?? [];
    const environment: NamedProcess[] = [
      ...(await Promise.all(clusterPids.map(async (pid) => ({ name: await processName(pid), pid })))),
      { name: "simulator", pid: cluster.pid },
      { name: "bench", pid: process.pid },
    ];
    const kubernetesVersion = (await admin.makeApiClient(VersionApi).getCode()).gitVersion;
    const namespaces = benchNamespaces(options.namespaces);
    await createNamespaces(admin, namespaces);
    process.stderr.write(`creating ${options.backgroundPods} background pods\n`);
    await createBackgroundPods(admin, options.backgroundPods, options.concurrency);

    const controllerKubeConfig = shareConnections(await serviceAccountKubeConfig(admin, { namespace: DEFAULT_SYSTEM_NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT }));
    const controllerKubeconfigPath = join(dir, "controller.kubeconfig");
    await writeFile(controllerKubeconfigPath, controllerKubeConfig.exportConfig(), { mode: 0o600 });
    const config = controllerConfig(controllerKubeConfig);
    const caPem = (await controllerKubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: "kube-root-ca.crt" })).data?.["ca.crt"] ?? "";

    process.stderr.write(`floor: ${options.pods} pods, no webhook, no controller\n`);
    const floorController = createFloorController({ kubeConfig: controllerKubeConfig, config, caCertHash: caCertHashFor(config.joinMethod, caPem), workers: options.workers, logger });
    const floor = await measureRun({
      admin, logger, run: "floor", bench: options, namespaces, vmNamespace: config.vmNamespace, floor: floorController, processes: environment,
      // Without a webhook the pod is created as the webhook would have made it.
      toCreate: (pod) => withIsolationDefaults(pod as PodObject, DEFAULT_RUNTIME_CLASS) as V1Pod,
    });
    await cleanUp(admin, "floor", namespaces, config.vmNamespace);

    process.stderr.write(`pipeline: ${options.pods} pods through the webhook and the controller\n`);
    pipeline = await startPipeline(admin, controllerKubeconfigPath, dir, options.workers, namespaces[0] ?? "default");
    const running = pipeline;
    const scrape = () => Promise.all([
      fetchFromApiServer(admin, "/metrics").then((text) => histogramBuckets(text, APISERVER_WEBHOOK_METRIC, isOurWebhook)),
      fetchText(`http://127.0.0.1:${running.webhookOpsPort}/metrics`).then((text) => histogramBuckets(text, METRIC_NAMES.webhookDuration)),
      processUsage(running.controller.pid),
    ]);
    const atRest = await measureAdmissionAtRest(admin, namespaces[0] ?? "default");
    const [apiBefore, ownBefore, controllerBefore] = await scrape();
    const measured = await measureRun({ admin, logger, run: "pipeline", bench: options, namespaces, vmNamespace: config.vmNamespace, toCreate: (pod) => pod,
      processes: [...environment, { name: "webhook", pid: running.webhook.pid }, { name: "controller", pid: running.controller.pid }],
    });
    const [apiAfter, ownAfter, controllerAfter] = await scrape();
    const webhookUsage = await processUsage(running.webhook.pid);
    await pipeline.stop();
    pipeline = undefined;

    const result = summarize({
      startedAt, kubernetesVersion, options, floor, pipeline: measured,
      apiServer: bucketsSince(apiBefore, apiAfter), apiServerAtRest: atRest, own: bucketsSince(ownBefore, ownAfter), controllerBefore, controllerAfter, webhookUsage,
    });
    report(result);
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`\nresults: ${file}\nRESULT ${JSON.stringify(result)}\n`);
    return result.targets.every((t) => t.met) ? 0 : 1;
  } finally {
    await pipeline?.stop();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The configuration the controller resolves when no MaroonedPodsConfig exists, as the floor must use the same. */
function controllerConfig(kubeConfig: KubeConfig): ControllerConfig {
  const resolved = resolveConfig(undefined, { apiServerEndpoint: kubeConfig.getCurrentCluster()?.server ?? "" });
  if (!resolved.ok) throw new Error(`internal: default configuration invalid: ${resolved.errors.join("; ")}`);
  return resolved.config;
}

function summarize(input: {
  startedAt: Date; kubernetesVersion: string; options: BenchOptions; floor: RunResult; pipeline: RunResult;
  apiServer: Buckets; apiServerAtRest: Buckets; own: Buckets; controllerBefore: ProcessUsage; controllerAfter: ProcessUsage; webhookUsage: ProcessUsage;
}): BenchResult {
  const webhookApiServerP99Ms = ms(histogramQuantile(input.apiServer, 0.99));
  const ratio = input.pipeline.wallTimeMs / input.floor.wallTimeMs;
  const controllerPeak = input.controllerAfter.peakRssMiB ?? null;
  const ownBound = bucketBound(input.own, 0.99);
  return {
    startedAt: input.startedAt.toISOString(),
    machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", memoryGiB: round(totalmem() / 2 ** 30) ?? 0 },
    kubernetesVersion: input.kubernetesVersion,
    options: input.options,
    pipeline: input.pipeline,
    floor: input.floor,
    pipelineFloorRatio: round(ratio, 3) ?? Number.NaN,
    webhook: {
      apiServerP99Ms: round(webhookApiServerP99Ms, 2),
      apiServerShareUnder5Ms: round(shareAtOrUnder(input.apiServer, FAST_BUCKET_SECONDS), 4),
      apiServerAtRestP99Ms: round(ms(histogramQuantile(input.apiServerAtRest, 0.99)), 2),
      apiServerAtRestShareUnder5Ms: round(shareAtOrUnder(input.apiServerAtRest, FAST_BUCKET_SECONDS), 4),
      apiServerCalls: input.apiServer.get(Number.POSITIVE_INFINITY) ?? 0,
      apiServerBuckets: Object.fromEntries([...input.apiServer].sort(([a], [b]) => a - b).map(([bound, count]) => [Number.isFinite(bound) ? String(bound * 1000) : "+Inf", count])),
      ownP99Ms: ownBound === undefined || !Number.isFinite(ownBound) ? null : ownBound * 1000,
      peakRssMiB: round(input.webhookUsage.peakRssMiB ?? null),
    },
    controller: { cpuSeconds: round(input.controllerAfter.cpuSeconds - input.controllerBefore.cpuSeconds, 2) ?? 0, peakRssMiB: round(controllerPeak) },
    targets: checkTargets({
      controllerReactionP99Ms: input.pipeline.phases.nodeReadyToUngated.p99,
      webhookApiServerP99Ms: webhookApiServerP99Ms ?? undefined,
      pipelineFloorRatio: ratio,
      controllerPeakRssMiB: controllerPeak ?? undefined,
    }),
  };
}

process.exitCode = await runBenchmark({ name: "bench", help: HELP, parse: parseOptions, run: bench }, process.argv.slice(2));
