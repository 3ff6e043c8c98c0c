/** The warm-pool step: a pool that holds a VM for every paced arrival, the same paced run with claims, then the refill. */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { WARM_POOL_DEFAULTS } from "../src/controller/config.ts";
import { sizeVm, type VmSizingConfig } from "../src/controller/sizing.ts";
import { formatCpuMillis, formatMemoryBytes } from "../src/kube/quantity.ts";
import { pollUntil } from "../src/util/poll.ts";
import { poolSizeFor } from "./pace.ts";
import { CLAIM_PHASES, phaseSummaries } from "./phases.ts";
import { drainPool, poolStatus, setPoolSize, waitForPoolAvailable, type PoolVmResources } from "./pool.ts";
import type { WarmPoolResult } from "./report.ts";
import { cleanUp, measureRun, type PipelineProbes, type RunContext } from "./run.ts";
import { benchPod } from "./workload.ts";

const RUN = "warm";
const FILL_TIMEOUT_MS = 15 * 60_000;
const POLL_MS = 250;
/**
 * The pool holds every arrival of the window, so no claim waits on its refill: during the run it refills this many at
 * a time (`warmPool.maxBooting`), behind the claims, as a pool sized for a burst would be set. It fills at the default.
 */
const REFILL_MAX_BOOTING = 2;

/** Polls the pool's status until stopped, keeping each time it said `size` VMs were available. */
function watchPoolFull(custom: CustomObjectsApi, size: number, clock: () => number): { readonly fullAt: readonly number[]; stop(): Promise<void> } {
  const fullAt: number[] = [];
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      if ((await poolStatus(custom)).available === size) fullAt.push(clock());
      await sleep(POLL_MS);
    }
  })();
  return { fullAt, stop: async () => { stopping.abort(); await loop; } };
}

/**
 * The pool VM the benchmark's pods claim: their own VM's size exactly, requests plus the overhead, since a pod
 * claims no VM bigger than it is charged for (README, The warm pool).
 */
export function benchPoolVm(sizing: VmSizingConfig): PoolVmResources {
  const pod = benchPod(RUN, { namespace: "any", name: "any" });
  const overhead = { cpu: formatCpuMillis(sizing.overhead.cpuMillis), memory: formatMemoryBytes(sizing.overhead.memoryBytes) };
  const size = sizeVm({ ...pod, spec: { containers: [], ...pod.spec, overhead } }, sizing);
  if (!size.ok) throw new Error(`internal: the benchmark's pod does not fit a VM: ${size.reason}`);
  return { cpu: formatCpuMillis(size.cpuMillis), memory: formatMemoryBytes(size.memoryBytes) };
}

export async function measureWarmPool(context: RunContext, custom: CustomObjectsApi, options: { ratePerSecond: number; seconds: number; pipeline: PipelineProbes; poolVm: PoolVmResources }): Promise<WarmPoolResult> {
  const clock = () => performance.now();
  const poolSize = poolSizeFor(options.ratePerSecond, options.seconds);
  const wait = { timeoutMs: FILL_TIMEOUT_MS, intervalMs: POLL_MS };
  const fillStart = clock();
  await setPoolSize(custom, poolSize, { vmResources: options.poolVm, maxBooting: WARM_POOL_DEFAULTS.maxBooting });
  await waitForPoolAvailable(custom, poolSize, wait);
  const fillMs = clock() - fillStart;
  await setPoolSize(custom, poolSize, { maxBooting: REFILL_MAX_BOOTING });

  const watcher = watchPoolFull(custom, poolSize, clock);
  let result: WarmPoolResult;
  try {
    const { result: run, timelines } = await measureRun(context, {
      run: RUN, arrivals: { kind: "paced", ratePerSecond: options.ratePerSecond, seconds: options.seconds }, toCreate: (pod) => pod, pipeline: options.pipeline,
    });
    const claimed = timelines.filter((t) => t.claimed !== undefined);
    let refillMs = Number.NaN;
    if (claimed.length > 0) {
      const lastClaim = Math.max(...claimed.map((t) => t.claimed ?? 0));
      const refilled = await pollUntil("the warm pool to refill", () => Promise.resolve(watcher.fullAt.find((at) => at > lastClaim)), wait);
      refillMs = refilled - lastClaim;
    }
    result = { poolSize, fillMs, refillMs, claims: claimed.length, misses: timelines.length - claimed.length, run, claimed: phaseSummaries(claimed, CLAIM_PHASES) };
  } finally {
    await watcher.stop();
  }
  // Shrink first, so the pool does not refill what the clean-up deletes.
  await setPoolSize(custom, 0, { maxBooting: WARM_POOL_DEFAULTS.maxBooting });
  await cleanUp(context, RUN);
  await drainPool(custom, context.vmNamespace, wait);
  return result;
}
