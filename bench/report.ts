/** The pipeline benchmark's results: what the file holds, and the table printed from it. */
import type { PaceSearch } from "./pace.ts";
import { CLAIM_PHASES, PHASES, type ClaimPhaseName } from "./phases.ts";
import type { ControllerUsage, RunResult } from "./run.ts";
import type { Summary, WebhookLatency } from "./stats.ts";
import { formatTable } from "./table.ts";
import type { TargetCheck } from "./targets.ts";

export interface BenchOptions {
  readonly pods: number;
  readonly namespaces: number;
  readonly concurrency: number;
  readonly workers: number;
  readonly backgroundPods: number;
  /** Pods per second of the paced steps; undefined: found by the rate search. */
  readonly rate: number | undefined;
  readonly pacedSeconds: number;
}

/** The paced steps' rate: the search's, or --rate's ("flag", no probes). */
export interface Pace {
  readonly ratePerSecond: number;
  readonly chosenBy: "flag" | PaceSearch<unknown>["chosenBy"];
  readonly probes: PaceSearch<unknown>["probes"];
}

export interface WarmPoolResult {
  readonly poolSize: number;
  /** Size set → that many available. */
  readonly fillMs: number;
  /** The last claim → the pool available at its size again. */
  readonly refillMs: number;
  readonly claims: number;
  readonly misses: number;
  readonly run: RunResult;
  /** The phases of the pods that claimed. */
  readonly claimed: Record<ClaimPhaseName, Summary>;
}

export interface BenchResult {
  readonly startedAt: string;
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly memoryGiB: number };
  readonly kubernetesVersion: string;
  readonly options: BenchOptions;
  readonly throughput: { readonly floor: RunResult; readonly pipeline: RunResult; readonly pipelineFloorRatio: number };
  readonly paced: { readonly pace: Pace; readonly floor: RunResult; readonly pipeline: RunResult };
  readonly warm: WarmPoolResult;
  readonly webhook: {
    /** Sequential dry-run creates before the pipeline's first run. */
    readonly atRest: WebhookLatency;
    /** From the webhook's own histogram over every pipeline step: all a bucketed histogram can promise. */
    readonly ownP99AtMostMs: number | null;
    readonly peakRssMiB: number | null;
  };
  readonly controller: { readonly peakRssMiB: number | null };
  readonly targets: readonly TargetCheck[];
}

const round = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || !Number.isFinite(value) ? "n/a" : Number(value.toFixed(digits)).toLocaleString("en-US");
const withUnit = (value: number | null | undefined, unit: string): string => (round(value) === "n/a" ? "n/a" : `${round(value)}${unit}`);
const percent = (share: number | null): string => (share === null ? "n/a" : `${round(share * 100)}%`);

function phaseTable(title: string, pipeline: RunResult, floor: RunResult): string[] {
  const rows = PHASES.map((p) => {
    const s = pipeline.phases[p.name];
    const f = floor.phases[p.name];
    return [p.label, round(s.p50), round(s.p95), round(s.p99), round(s.max), round(f.p50), round(f.p99)];
  });
  return formatTable([`${title} (ms)`, "p50", "p95", "p99", "max", "floor p50", "floor p99"], rows);
}

const webhookLine = (latency: WebhookLatency | undefined): string =>
  latency === undefined ? "n/a" : `p99 ${withUnit(latency.p99Ms, " ms")} (${percent(latency.shareUnder5Ms)} of ${latency.calls} calls <= 5 ms)`;
const wall = (run: RunResult): string => `${withUnit(run.wallTimeMs / 1000, " s")} (${withUnit(run.podsPerSecond, " pods/s")})`;
const usageRow = (step: string, usage: ControllerUsage | undefined, pods: number): string[] =>
  [step, String(pods), round(usage?.cpuSeconds, 2), round(usage?.cpuSecondsPer1000Pods), round(usage?.peakRssMiB)];

/** Prints the result as tables: one per step, the controller's usage per step, then the targets. */
export function printReport(result: BenchResult, out: (line?: string) => void, printedRequestKinds = 8): void {
  const { machine, options, throughput, paced, warm } = result;
  out(`pipeline benchmark: ${options.pods} pods in ${options.namespaces} namespaces, ${options.backgroundPods} background pods, concurrency ${options.concurrency}, ${options.workers} workers`);
  out(`machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB; Kubernetes ${result.kubernetesVersion}`);
  out();
  out(`1. throughput: ${options.pods} pods at once`);
  for (const line of phaseTable("throughput", throughput.pipeline, throughput.floor)) out(line);
  out(`  wall time: pipeline ${wall(throughput.pipeline)}, floor ${wall(throughput.floor)}; pipeline / floor ${round(throughput.pipelineFloorRatio, 3)}`);
  // Both cores are busy throughout: the wall-time ratio follows the CPU every process spent per pod.
  const perPod = (run: RunResult) => (Object.values(run.cpuSeconds).reduce((a, b) => a + b, 0) / run.pods) * 1000;
  out(`  CPU per pod, every process: pipeline ${round(perPod(throughput.pipeline))} ms, floor ${round(perPod(throughput.floor))} ms; pipeline / floor ${round(perPod(throughput.pipeline) / perPod(throughput.floor), 3)}`);
  out(`  webhook, API server's view: ${webhookLine(throughput.pipeline.webhook)}; its own histogram: ${webhookLine(throughput.pipeline.webhookOwn)}`);
  out();
  const probes = paced.pace.probes.map((p) => `${p.ratePerSecond}/s → floor reaction p99 ${round(p.floorReactionP99Ms)} ms`).join("; ");
  out(`2. paced: ${paced.pace.ratePerSecond} pods/s for ${options.pacedSeconds} s (${paced.pipeline.pods} pods), rate by ${paced.pace.chosenBy}${probes ? ` (probes: ${probes})` : ""}`);
  for (const line of phaseTable("paced", paced.pipeline, paced.floor)) out(line);
  out(`  webhook, API server's view over the arrivals: ${webhookLine(paced.pipeline.webhook)}; its own histogram: ${webhookLine(paced.pipeline.webhookOwn)}`);
  out(`  webhook, at rest: ${webhookLine(result.webhook.atRest)}; its own histogram over every step: p99 <= ${withUnit(result.webhook.ownP99AtMostMs, " ms")}; peak RSS ${withUnit(result.webhook.peakRssMiB, " MiB")}`);
  out();
  out(`3. warm pool of ${warm.poolSize} at ${paced.pace.ratePerSecond} pods/s: filled in ${withUnit(warm.fillMs / 1000, " s")}, ${warm.claims} claims, ${warm.misses} misses, refilled ${withUnit(warm.refillMs / 1000, " s")} after the last claim`);
  const claimRows = CLAIM_PHASES.map((p) => {
    const s = warm.claimed[p.name];
    return [p.label, round(s.p50), round(s.p95), round(s.p99), round(s.max)];
  });
  for (const line of formatTable(["claimed pods (ms)", "p50", "p95", "p99", "max"], claimRows)) out(line);
  out();
  out("4. the controller per step (5000 background pods present)");
  const usage = [
    usageRow("throughput", throughput.pipeline.controller, throughput.pipeline.pods),
    usageRow("paced", paced.pipeline.controller, paced.pipeline.pods),
    usageRow("warm pool", warm.run.controller, warm.run.pods),
  ];
  for (const line of formatTable(["step", "pods", "CPU s", "CPU s / 1000 pods", "peak RSS MiB"], usage)) out(line);
  out();
  const cpu = (run: RunResult) => Object.entries(run.cpuSeconds).sort(([, a], [, b]) => b - a).map(([name, seconds]) => `${name} ${seconds}`).join(", ");
  const requests = (run: RunResult) => Object.entries(run.apiServerRequests).slice(0, printedRequestKinds).map(([kind, count]) => `${kind} ${count}`).join(", ");
  const runs: [string, RunResult][] = [["throughput", throughput.pipeline], ["throughput floor", throughput.floor], ["paced", paced.pipeline], ["paced floor", paced.floor], ["warm pool", warm.run]];
  for (const [name, run] of runs) out(`  CPU s, ${name.padEnd(17)}${cpu(run)}; taken by the hypervisor (steal) ${run.stealSeconds}`);
  for (const [name, run] of runs) out(`  requests, ${name.padEnd(17)}${requests(run)}`);
  out();
  for (const check of result.targets) out(`  target ${check.name.padEnd(30)} ${round(check.value, 2).padStart(8)} <= ${check.limit}  ${check.met ? "met" : "MISSED"}`);
}
