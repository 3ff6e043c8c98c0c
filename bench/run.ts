/** One measured run of the pipeline benchmark: pods arrive in a burst or at a pace, each pod's steps are stamped, and the run's cost is read. */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { MANAGED_BY, OWNED_LABELS } from "../src/api/conditions.ts";
import { KUBE_SYSTEM_NAMESPACE, NODE_POD_UID_LABEL, POOL_LABEL, SCHEDULING_GATE } from "../src/api/names.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { pollUntil } from "../src/util/poll.ts";
import { apiServerRequests, apiServerWebhookBuckets } from "./api-server.ts";
import type { FloorController } from "./floor.ts";
import { forEachLimited } from "./limit.ts";
import { arrivalCount, arrivalOffsetsMs } from "./pace.ts";
import { phaseSummaries, stepCounts, wallTimeMs, type PhaseName, type PodTimeline } from "./phases.ts";
import { machineStealSeconds, processUsage, resetPeakRss } from "./proc.ts";
import { startTimelineRecorder } from "./recorder.ts";
import { bucketsSince, topIncreases, webhookLatency, type Buckets, type Summary, type WebhookLatency } from "./stats.ts";
import { benchPod, benchPodPlacement, RUN_LABEL } from "./workload.ts";

const RUN_TIMEOUT_BASE_MS = 120_000;
const RUN_TIMEOUT_PER_POD_MS = 500;
const CLEANUP_TIMEOUT_MS = 10 * 60_000;
/** Request kinds kept in the results file. */
const TOP_REQUEST_KINDS = 30;

/** How the run's pods arrive: all at once, `concurrency` creates in flight (closed loop), or one every 1 / rate seconds (open loop). */
export type Arrivals =
  | { readonly kind: "burst"; readonly pods: number; readonly concurrency: number }
  | { readonly kind: "paced"; readonly ratePerSecond: number; readonly seconds: number };

export interface NamedProcess {
  readonly name: string;
  readonly pid: number;
}

/** The controller over one run: its CPU and, since the run began, its peak RSS. */
export interface ControllerUsage {
  readonly cpuSeconds: number;
  readonly cpuSecondsPer1000Pods: number;
  readonly peakRssMiB: number | null;
}

export interface RunResult {
  readonly arrivals: Arrivals;
  readonly pods: number;
  readonly wallTimeMs: number;
  readonly podsPerSecond: number;
  readonly phases: Record<PhaseName, Summary>;
  /** CPU seconds each process spent during the run: where the two cores went. */
  readonly cpuSeconds: Record<string, number>;
  /** CPU seconds the hypervisor took from the machine during the run: a noisy run shows here. */
  readonly stealSeconds: number;
  /** The API server's busiest request kinds during the run (`VERB resource[/subresource]`: count). */
  readonly apiServerRequests: Record<string, number>;
  /** Our webhook as the API server timed it from the first create sent to the last answered; absent without it. */
  readonly webhook?: WebhookLatency;
  /** The same window by the webhook's own histogram (body read to answer): what of the API server's view is the handler. */
  readonly webhookOwn?: WebhookLatency;
  readonly controller?: ControllerUsage;
}

/** Where a pipeline run reads its components' cost. */
export interface PipelineProbes {
  readonly controllerPid: number;
  /** The webhook's own duration histogram, from its metrics endpoint. */
  readonly webhookOwnBuckets: () => Promise<Buckets>;
}

/** What every run shares: the cluster, and the processes whose CPU it reports. */
export interface RunContext {
  readonly admin: KubeConfig;
  readonly logger: Logger;
  readonly namespaces: readonly string[];
  readonly vmNamespace: string;
  readonly processes: readonly NamedProcess[];
  /** The controller's identity: the reserved-metadata policy lets only it take the cleanup finalizer off. */
  readonly controllerKubeConfig: KubeConfig;
}

export interface RunOptions {
  /** The pods' run label, and their names' prefix. */
  readonly run: string;
  readonly arrivals: Arrivals;
  /** Makes the pod object to create (the floor's arrives gated already). */
  readonly toCreate: (pod: V1Pod) => V1Pod;
  /** The floor's writes, told of each created pod and of its node; absent for the pipeline. */
  readonly floor?: FloorController;
  /** The pipeline's: its webhook's latency and its controller's usage are read. */
  readonly pipeline?: PipelineProbes;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

async function cpuSecondsOf(processes: readonly NamedProcess[]): Promise<Map<string, number>> {
  return new Map(await Promise.all(processes.map(async (p) => [p.name, (await processUsage(p.pid)).cpuSeconds] as const)));
}

/** Calls `send(i)` for each arrival and resolves when all have answered; rejects with the first failure after all settle. */
async function sendArrivals(arrivals: Arrivals, send: (index: number) => Promise<void>, clock: () => number): Promise<void> {
  if (arrivals.kind === "burst") {
    await forEachLimited(Array.from({ length: arrivals.pods }, (_, i) => i), arrivals.concurrency, (_, i) => send(i));
    return;
  }
  const start = clock();
  const sent: Promise<void>[] = [];
  for (const [index, offset] of arrivalOffsetsMs(arrivals.ratePerSecond, arrivals.seconds).entries()) {
    const wait = start + offset - clock();
    if (wait > 0) await sleep(wait);
    sent.push(send(index));
  }
  const failed = (await Promise.allSettled(sent)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

const podCount = (arrivals: Arrivals): number => (arrivals.kind === "burst" ? arrivals.pods : arrivalCount(arrivals.ratePerSecond, arrivals.seconds));

/** Creates the run's pods as `arrivals` says, stamping each pod's steps, and resolves when every one is Running. */
export async function measureRun(context: RunContext, options: RunOptions): Promise<{ result: RunResult; timelines: PodTimeline[] }> {
  const { admin, logger } = context;
  const { run, arrivals, pipeline } = options;
  const core = admin.makeApiClient(CoreV1Api);
  const clock = () => performance.now();
  const recorder = await startTimelineRecorder({
    kubeConfig: admin, logger, podSelector: `${RUN_LABEL}=${run}`, vmNamespace: context.vmNamespace, clock, ...(options.floor ? { nodes: options.floor } : {}),
  });
  const pods = podCount(arrivals);
  const timelines: PodTimeline[] = [];
  try {
    if (pipeline) await resetPeakRss(pipeline.controllerPid);
    const controllerBefore = pipeline ? await processUsage(pipeline.controllerPid) : undefined;
    const cpuBefore = await cpuSecondsOf(context.processes);
    const stealBefore = await machineStealSeconds();
    const requestsBefore = await apiServerRequests(admin);
    const webhookBefore = pipeline ? await apiServerWebhookBuckets(admin) : undefined;
    const webhookOwnBefore = pipeline ? await pipeline.webhookOwnBuckets() : undefined;
    await sendArrivals(arrivals, async (i) => {
      const placement = benchPodPlacement(run, i, context.namespaces);
      const body = options.toCreate(benchPod(run, placement));
      const sent = clock();
      const pod = await core.createNamespacedPod({ namespace: placement.namespace, body });
      const answered = clock();
      if (!(pod.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE)) throw new Error(`pod ${placement.namespace}/${placement.name} was created without the scheduling gate`);
      const timeline = recorder.timeline(pod.metadata?.uid ?? "");
      timeline.createSent = sent;
      timeline.gated = answered;
      timelines.push(timeline);
      options.floor?.launch(pod);
    }, clock);
    // The run's creates are the only pod creates in the window: the difference is the webhook's calls for them.
    const webhook = webhookBefore ? webhookLatency(bucketsSince(webhookBefore, await apiServerWebhookBuckets(admin))) : undefined;
    const webhookOwn = pipeline && webhookOwnBefore ? webhookLatency(bucketsSince(webhookOwnBefore, await pipeline.webhookOwnBuckets())) : undefined;
    const pacedMs = arrivals.kind === "paced" ? arrivals.seconds * 1000 : 0;
    const wall = await pollUntil(`${pods} ${run} pods to run`, () => Promise.resolve(wallTimeMs(timelines)), {
      timeoutMs: pacedMs + RUN_TIMEOUT_BASE_MS + RUN_TIMEOUT_PER_POD_MS * pods,
      intervalMs: 100,
      check: () => {
        if (options.floor && options.floor.failures.length > 0) throw new Error(`floor writes failed: ${options.floor.failures.slice(0, 3).join("; ")}`);
      },
    }).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; pods per step: ${stepCounts(timelines)}`);
    });
    const cpuAfter = await cpuSecondsOf(context.processes);
    const stealSeconds = round((await machineStealSeconds()) - stealBefore);
    const cpuSeconds = Object.fromEntries([...cpuAfter].map(([name, seconds]) => [name, round(seconds - (cpuBefore.get(name) ?? 0))]));
    const requests = Object.fromEntries(topIncreases(requestsBefore, await apiServerRequests(admin), TOP_REQUEST_KINDS));
    let controller: ControllerUsage | undefined;
    if (pipeline && controllerBefore) {
      const after = await processUsage(pipeline.controllerPid);
      const cpu = after.cpuSeconds - controllerBefore.cpuSeconds;
      controller = { cpuSeconds: round(cpu), cpuSecondsPer1000Pods: round((cpu / pods) * 1000), peakRssMiB: after.peakRssMiB === undefined ? null : round(after.peakRssMiB, 1) };
    }
    const result: RunResult = {
      arrivals, pods, wallTimeMs: wall, podsPerSecond: pods / (wall / 1000), phases: phaseSummaries(timelines), cpuSeconds, stealSeconds, apiServerRequests: requests,
      ...(webhook ? { webhook } : {}), ...(webhookOwn ? { webhookOwn } : {}), ...(controller ? { controller } : {}),
    };
    return { result, timelines };
  } finally {
    recorder.stop();
  }
}

/** Removes every trace of a run (pods, VMIs, Secrets, nodes, pool nodes) and waits until they are gone, so the next run starts clean. */
export async function cleanUp(context: RunContext, run: string): Promise<void> {
  const { namespaces, vmNamespace } = context;
  const core = context.admin.makeApiClient(CoreV1Api);
  const asController = context.controllerKubeConfig.makeApiClient(CoreV1Api);
  const customObjects = context.admin.makeApiClient(CustomObjectsApi);
  const podSelector = `${RUN_LABEL}=${run}`;
  const owned = `${OWNED_LABELS.component}=${MANAGED_BY}`;
  for (const namespace of namespaces) {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: podSelector });
    await forEachLimited(pods.items.filter((pod) => (pod.metadata?.finalizers ?? []).length > 0), 20, async (pod) => {
      await asController.patchNamespacedPod({ namespace, name: pod.metadata?.name ?? "", body: { metadata: { finalizers: null } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    });
    await core.deleteCollectionNamespacedPod({ namespace, labelSelector: podSelector, gracePeriodSeconds: 0 });
  }
  await customObjects.deleteCollectionNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: vmNamespace, labelSelector: owned });
  await core.deleteCollectionNamespacedSecret({ namespace: vmNamespace, labelSelector: owned });
  await core.deleteCollectionNamespacedSecret({ namespace: KUBE_SYSTEM_NAMESPACE, labelSelector: owned });
  await core.deleteCollectionNode({ labelSelector: NODE_POD_UID_LABEL });
  await core.deleteCollectionNode({ labelSelector: POOL_LABEL });
  await pollUntil(`the ${run} run's objects to go`, async () => {
    const [left, nodes, poolNodes] = await Promise.all([
      core.listPodForAllNamespaces({ labelSelector: podSelector, limit: 1 }), core.listNode({ labelSelector: NODE_POD_UID_LABEL, limit: 1 }), core.listNode({ labelSelector: POOL_LABEL, limit: 1 }),
    ]);
    return left.items.length === 0 && nodes.items.length === 0 && poolNodes.items.length === 0 ? true : undefined;
  }, { timeoutMs: CLEANUP_TIMEOUT_MS, intervalMs: 1_000 });
}
