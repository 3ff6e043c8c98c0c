/**
 * The isolation pipeline benchmark: `npm run bench -- [--pods N] [--rate R] [--paced-seconds S] …` (see --help).
 *
 * On the local control plane with the KubeVirt simulator at zero boot delay, one invocation (so every ratio holds
 * on a noisy machine) runs, each against the floor (bench/floor.ts: the API writes a perfect controller must make)
 * and the pipeline (the webhook and the controller as processes of their own, as in production):
 * 1. throughput: N pods at once (closed loop), wall time pipeline / floor;
 * 2. paced: pods arriving open-loop at a rate the floor carries with room to spare (bench/pace.ts);
 * 3. warm pool: the same pace, each pod claiming a pool VM (bench/warm.ts);
 * 4. the controller's CPU and peak RSS in each step.
 * Prints tables, writes bench/results/<timestamp>.json, then one `RESULT {...}` line. Exits 1 when a target
 * (bench/targets.ts) is missed or a run fails, 2 on bad flags.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig, VersionApi, type V1Pod } from "@kubernetes/client-node";
import { pino, type Logger } from "pino";
import { METRIC_NAMES } from "../src/api/metric-names.ts";
import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_RUNTIME_CLASS, DEFAULT_SYSTEM_NAMESPACE } from "../src/api/names.ts";
import { integerFlag } from "../src/cli/command.ts";
import { resolveConfig, type ControllerConfig } from "../src/controller/config.ts";
import { startComponentProcess, type ComponentProcess } from "../src/devcluster/component-process.ts";
import { serviceAccountKubeConfig } from "../src/devcluster/service-account.ts";
import { caCertHashFor } from "../src/joininfo/ca-hash.ts";
import { shareConnections } from "../src/kube/connections.ts";
import { withIsolationDefaults, type PodObject } from "../webhook/mutation.ts";
import { HTTP_TIMEOUT_MS } from "./api-server.ts";
import { parseFlags, positiveDecimalFlag, runBenchmark } from "./cli.ts";
import { createFloorController } from "./floor.ts";
import { getText } from "./http.ts";
import { PACE, searchPace } from "./pace.ts";
import { measureAdmissionAtRest, startPipeline, type Pipeline } from "./pipeline-processes.ts";
import { processName, processUsage } from "./proc.ts";
import { printReport, type BenchOptions, type BenchResult, type Pace } from "./report.ts";
import { cleanUp, measureRun, type Arrivals, type NamedProcess, type PipelineProbes, type RunContext, type RunResult } from "./run.ts";
import { bucketBound, bucketsSince, histogramBuckets } from "./stats.ts";
import { checkTargets } from "./targets.ts";
import { benchPoolVm, measureWarmPool } from "./warm.ts";
import { benchNamespaces, createBackgroundPods, createNamespaces } from "./workload.ts";

const CLUSTER_SCRIPT = fileURLToPath(new URL("./cluster.ts", import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));
/** Generous: the first run on a machine builds the control-plane binaries (about 15 minutes on two cores). */
const CLUSTER_READY_TIMEOUT_MS = 40 * 60_000;
const USAGE = "usage: npm run bench -- [--pods N] [--namespaces K] [--concurrency C] [--workers W] [--background-pods M] [--rate R] [--paced-seconds S]";
const HELP = `${USAGE}
  --pods N             pods of the throughput step, created at once (default 1000)
  --namespaces K       namespaces every step's pods are spread over (default 10)
  --concurrency C      pod creates in flight in the throughput step (default 50)
  --workers W          the controller's --workers, and the floor's writes in flight (default 4)
  --background-pods M  unrelated Running pods present throughout (default 5000)
  --rate R             pods per second of the paced and warm-pool steps (default: found by paced runs of the floor,
                       from half its throughput down by ${PACE.lowerBy}, until its reaction p99 is <= ${PACE.floorReactionP99LimitMs} ms)
  --paced-seconds S    how long the paced and warm-pool steps send pods (default 120)
`;

function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  const values = parseFlags(argv, {
    pods: { type: "string", default: "1000" },
    namespaces: { type: "string", default: "10" },
    concurrency: { type: "string", default: "50" },
    workers: { type: "string", default: "4" },
    "background-pods": { type: "string", default: "5000" },
    rate: { type: "string" },
    "paced-seconds": { type: "string", default: "120" },
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help";
  return {
    pods: integerFlag("pods", values.pods, 1),
    namespaces: integerFlag("namespaces", values.namespaces, 1),
    concurrency: integerFlag("concurrency", values.concurrency, 1),
    workers: integerFlag("workers", values.workers, 1),
    backgroundPods: integerFlag("background-pods", values["background-pods"], 0),
    rate: values.rate === undefined ? undefined : positiveDecimalFlag("rate", values.rate),
    pacedSeconds: integerFlag("paced-seconds", values["paced-seconds"], 1),
  };
}

const paced = (ratePerSecond: number, seconds: number): Arrivals => ({ kind: "paced", ratePerSecond, seconds });
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** The configuration the controller resolves when no MaroonedPodsConfig exists, as the floor must use the same. */
function controllerConfig(kubeConfig: KubeConfig): ControllerConfig {
  const resolved = resolveConfig(undefined, { apiServerEndpoint: kubeConfig.getCurrentCluster()?.server ?? "" });
  if (!resolved.ok) throw new Error(`internal: default configuration invalid: ${resolved.errors.join("; ")}`);
  return resolved.config;
}

/** The floor's runs: pods created already gated, as the webhook would return them, and only the floor's writes. */
function floorRunner(context: RunContext, deps: { kubeConfig: KubeConfig; config: ControllerConfig; caCertHash: string; workers: number; logger: Logger }) {
  return async (run: string, arrivals: Arrivals): Promise<RunResult> => {
    const floor = createFloorController(deps);
    const toCreate = (pod: V1Pod) => withIsolationDefaults(pod as PodObject, DEFAULT_RUNTIME_CLASS) as V1Pod;
    const { result } = await measureRun(context, { run, arrivals, toCreate, floor });
    await cleanUp(context, run);
    return result;
  };
}

/** The paced rate and the floor's paced run at it: --rate's, or the search's accepted probe. */
async function pacedFloor(options: BenchOptions, floorPodsPerSecond: number, runFloor: (run: string, arrivals: Arrivals) => Promise<RunResult>): Promise<{ pace: Pace; floor: RunResult }> {
  if (options.rate !== undefined) {
    log(`floor, paced: ${options.rate} pods/s for ${options.pacedSeconds} s`);
    return { pace: { ratePerSecond: options.rate, chosenBy: "flag", probes: [] }, floor: await runFloor("floor-paced", paced(options.rate, options.pacedSeconds)) };
  }
  let probe = 0;
  const search = await searchPace(floorPodsPerSecond, (rate) => {
    probe += 1;
    log(`floor, paced (rate search, probe ${probe}): ${rate} pods/s for ${options.pacedSeconds} s`);
    return runFloor(`floor-paced-${probe}`, paced(rate, options.pacedSeconds));
  }, (run) => run.phases.nodeReadyToUngated.p99);
  const { run, ...pace } = search;
  return { pace, floor: run };
}

async function bench(options: BenchOptions): Promise<number> {
  const logger = pino({ level: process.env.MAROONEDPODS_BENCH_LOG_LEVEL ?? "warn", base: undefined }, process.stderr);
  const dir = await mkdtemp(join(tmpdir(), "maroonedpods-bench-"));
  const startedAt = new Date();
  let cluster: ComponentProcess | undefined;
  let pipeline: Pipeline | undefined;
  try {
    log("starting the local control plane, kwok and the KubeVirt simulator");
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
    log(`creating ${options.backgroundPods} background pods`);
    await createBackgroundPods(admin, options.backgroundPods, options.concurrency);

    const controllerKubeConfig = shareConnections(await serviceAccountKubeConfig(admin, { namespace: DEFAULT_SYSTEM_NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT }));
    const controllerKubeconfigPath = join(dir, "controller.kubeconfig");
    await writeFile(controllerKubeconfigPath, controllerKubeConfig.exportConfig(), { mode: 0o600 });
    const config = controllerConfig(controllerKubeConfig);
    const caPem = (await controllerKubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: "kube-root-ca.crt" })).data?.["ca.crt"] ?? "";
    const floorContext: RunContext = { admin, logger, namespaces, vmNamespace: config.vmNamespace, processes: environment, controllerKubeConfig };
    const runFloor = floorRunner(floorContext, { kubeConfig: controllerKubeConfig, config, caCertHash: caCertHashFor(config.joinMethod, caPem), workers: options.workers, logger });
    const burst: Arrivals = { kind: "burst", pods: options.pods, concurrency: options.concurrency };

    log(`floor, throughput: ${options.pods} pods at once, no webhook, no controller`);
    const floorBurst = await runFloor("floor", burst);
    const { pace, floor: floorPaced } = await pacedFloor(options, floorBurst.podsPerSecond, runFloor);

    pipeline = await startPipeline(admin, controllerKubeconfigPath, dir, options.workers, namespaces[0] ?? "default");
    const running = pipeline;
    const context: RunContext = { ...floorContext, processes: [...environment, { name: "webhook", pid: running.webhook.pid }, { name: "controller", pid: running.controller.pid }] };
    const webhookOwn = async () => histogramBuckets(await getText(`http://127.0.0.1:${running.webhookOpsPort}/metrics`, HTTP_TIMEOUT_MS), METRIC_NAMES.webhookDuration);
    const probes: PipelineProbes = { controllerPid: running.controller.pid, webhookOwnBuckets: webhookOwn };
    const runPipeline = async (run: string, arrivals: Arrivals): Promise<RunResult> => {
      const { result } = await measureRun(context, { run, arrivals, toCreate: (pod) => pod, pipeline: probes });
      await cleanUp(context, run);
      return result;
    };
    const atRest = await measureAdmissionAtRest(admin, namespaces[0] ?? "default");
    const ownBefore = await webhookOwn();
    log(`pipeline, throughput: ${options.pods} pods at once through the webhook and the controller`);
    const pipelineBurst = await runPipeline("pipeline", burst);
    log(`pipeline, paced: ${pace.ratePerSecond} pods/s for ${options.pacedSeconds} s`);
    const pipelinePaced = await runPipeline("paced", paced(pace.ratePerSecond, options.pacedSeconds));
    log(`warm pool: ${pace.ratePerSecond} pods/s for ${options.pacedSeconds} s, each claiming a pool VM`);
    const warm = await measureWarmPool(context, admin.makeApiClient(CustomObjectsApi), {
      ratePerSecond: pace.ratePerSecond, seconds: options.pacedSeconds, pipeline: probes, poolVm: benchPoolVm(config.sizing),
    });
    const ownBound = bucketBound(bucketsSince(ownBefore, await webhookOwn()), 0.99);
    const webhookUsage = await processUsage(running.webhook.pid);
    await pipeline.stop();
    pipeline = undefined;

    const controllerPeaks = [pipelineBurst, pipelinePaced, warm.run].map((run) => run.controller?.peakRssMiB ?? Number.NaN);
    const controllerPeak = Math.max(...controllerPeaks);
    const result: BenchResult = {
      startedAt: startedAt.toISOString(),
      machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)) },
      kubernetesVersion,
      options,
      throughput: { floor: floorBurst, pipeline: pipelineBurst, pipelineFloorRatio: Number((pipelineBurst.wallTimeMs / floorBurst.wallTimeMs).toFixed(3)) },
      paced: { pace, floor: floorPaced, pipeline: pipelinePaced },
      warm,
      webhook: {
        atRest,
        ownP99AtMostMs: ownBound === undefined || !Number.isFinite(ownBound) ? null : ownBound * 1000,
        peakRssMiB: webhookUsage.peakRssMiB === undefined ? null : Number(webhookUsage.peakRssMiB.toFixed(1)),
      },
      controller: { peakRssMiB: Number.isFinite(controllerPeak) ? controllerPeak : null },
      targets: checkTargets({
        pipelineFloorRatio: pipelineBurst.wallTimeMs / floorBurst.wallTimeMs,
        pacedControllerReactionP99Ms: pipelinePaced.phases.nodeReadyToUngated.p99,
        pacedWebhookApiServerP99Ms: pipelinePaced.webhook?.p99Ms ?? undefined,
        claimedCreateToRunningP99Ms: warm.claimed.createToRunning.p99,
        controllerPeakRssMiB: controllerPeak,
      }),
    };
    printReport(result, (line = "") => process.stdout.write(`${line}\n`));
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

process.exitCode = await runBenchmark({ name: "bench", help: HELP, parse: parseOptions, run: bench }, process.argv.slice(2));
