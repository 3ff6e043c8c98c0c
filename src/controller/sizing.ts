/**
 * How big a pod's VM must be. The pod is scheduled onto its VM node by the real
 * scheduler, which admits it only if the node's allocatable covers the pod's
 * requests as the scheduler computes them; so this mirrors
 * k8s.io/component-helpers/resource.PodRequests for CPU and memory, and the
 * configured overhead pays for the guest OS, the kubelet and its reservations.
 */
import { formatCpuMillis, formatMemoryBytes, parseCpuMillis, parseMemoryBytes } from "../kube/quantity.ts";

export interface Resources {
  readonly cpuMillis: number;
  readonly memoryBytes: number;
}

export interface VmSizingConfig {
  readonly base: Resources;
  readonly overhead: Resources;
  readonly max: Resources;
}

export type VmSize =
  | { ok: true; cpuMillis: number; memoryBytes: number; /** whole vCPUs, ceil(cpuMillis / 1000), at least 1 */ guestCpus: number }
  | { ok: false; readonly problem: "exceedsMaximum" | "exceedsCharge"; /** what exceeded what, and by how much */ reason: string };

type ResourceList = Readonly<Record<string, string | number | undefined>>;

interface ResourceRequirementsLike {
  readonly requests?: ResourceList;
  readonly limits?: ResourceList;
}

export interface ContainerLike {
  readonly name?: string;
  readonly restartPolicy?: string;
  readonly resources?: ResourceRequirementsLike;
}

/** The parts of a V1Pod (or its plain JSON) that sizing reads. */
export interface PodLike {
  readonly spec?: {
    readonly containers?: readonly ContainerLike[];
    readonly initContainers?: readonly ContainerLike[];
    readonly overhead?: ResourceList;
    readonly resources?: ResourceRequirementsLike;
  };
}

type ResourceName = "cpu" | "memory";

const DIMENSIONS = [
  { key: "cpuMillis", format: formatCpuMillis, label: "CPU" },
  { key: "memoryBytes", format: formatMemoryBytes, label: "memory" },
] as const;

const ZERO: Resources = { cpuMillis: 0, memoryBytes: 0 };

const add = (a: Resources, b: Resources): Resources => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes });
const max = (a: Resources, b: Resources): Resources => ({
  cpuMillis: Math.max(a.cpuMillis, b.cpuMillis),
  memoryBytes: Math.max(a.memoryBytes, b.memoryBytes),
});

/** A request from the pod; the error names the field, and the container when there is one, so the user can find it. */
function parseRequest(value: string | number, name: ResourceName, field: string, container?: ContainerLike): number {
  const where = container === undefined ? field : `container ${JSON.stringify(container.name ?? "")}: ${field}`;
  let parsed: number;
  try {
    parsed = name === "cpu" ? parseCpuMillis(value) : parseMemoryBytes(value);
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
  }
  if (parsed < 0) throw new Error(`${where}: must not be negative, got ${JSON.stringify(value)}`);
  return parsed;
}

/** One resource of a list, parsed; undefined when the list lacks it. */
function quantityIn(list: ResourceList | undefined, name: ResourceName, path: string, container?: ContainerLike): number | undefined {
  const value = list?.[name];
  return value === undefined ? undefined : parseRequest(value, name, `${path}.${name}`, container);
}

function containerRequests(c: ContainerLike, path: string): Resources {
  // The API server defaults each missing request to its limit, per resource.
  const pick = (name: ResourceName): number =>
    quantityIn(c.resources?.requests, name, `${path}.resources.requests`, c) ?? quantityIn(c.resources?.limits, name, `${path}.resources.limits`, c) ?? 0;
  return { cpuMillis: pick("cpu"), memoryBytes: pick("memory") };
}

/** Sidecars are init containers that keep running: restartPolicy Always. */
const isSidecar = (container: ContainerLike): boolean => container.restartPolicy === "Always";

/**
 * Containers and sidecars run together; each init container runs alone next to
 * the sidecars started before it. The pod needs the larger of the two phases.
 */
function aggregateContainerRequests(pod: PodLike): Resources {
  let running = (pod.spec?.containers ?? []).reduce((sum, c, i) => add(sum, containerRequests(c, `spec.containers[${i}]`)), ZERO);
  let sidecars = ZERO;
  let initPeak = ZERO;
  (pod.spec?.initContainers ?? []).forEach((init, i) => {
    const requests = containerRequests(init, `spec.initContainers[${i}]`);
    if (isSidecar(init)) {
      running = add(running, requests);
      sidecars = add(sidecars, requests);
      initPeak = max(initPeak, sidecars);
    } else {
      initPeak = max(initPeak, add(requests, sidecars));
    }
  });
  return max(running, initPeak);
}

/** Whether any container states a request or limit for the resource. */
function anyContainerDeclares(pod: PodLike, name: ResourceName): boolean {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return all.some((c) => c.resources?.requests?.[name] !== undefined || c.resources?.limits?.[name] !== undefined);
}

/**
 * Pod-level resources (spec.resources) replace the containers' sum for the
 * resources they set. A pod-level limit alone defaults the request only when no
 * container states one; otherwise the API server defaults it to the containers' sum.
 */
function withPodLevelRequests(pod: PodLike, aggregate: Resources): Resources {
  const podLevel = pod.spec?.resources;
  const pick = (name: ResourceName, key: keyof Resources): number => {
    const request = quantityIn(podLevel?.requests, name, "spec.resources.requests");
    const limit = anyContainerDeclares(pod, name) ? undefined : quantityIn(podLevel?.limits, name, "spec.resources.limits");
    return request ?? limit ?? aggregate[key];
  };
  return { cpuMillis: pick("cpu", "cpuMillis"), memoryBytes: pick("memory", "memoryBytes") };
}

/** The pod's own CPU and memory requests (containers, sidecars, pod-level resources), without any overhead. */
export function podRequests(pod: PodLike): Resources {
  return withPodLevelRequests(pod, aggregateContainerRequests(pod));
}

/**
 * What the pod is charged: its requests plus `spec.overhead`, which the `marooned` RuntimeClass fills in. This is
 * what the scheduler and a namespace's ResourceQuota count, so the VM must never cost more.
 */
export function chargedRequests(pod: PodLike): Resources {
  const overhead = pod.spec?.overhead;
  return add(podRequests(pod), { cpuMillis: quantityIn(overhead, "cpu", "spec.overhead") ?? 0, memoryBytes: quantityIn(overhead, "memory", "spec.overhead") ?? 0 });
}

/** One line per dimension above the maximum: what pushed it there and by how much. */
function overMaximum(requested: Resources, config: VmSizingConfig, size: Resources): string[] {
  return DIMENSIONS.filter((d) => size[d.key] > config.max[d.key]).map(({ key, label, format }) => {
    const above = (value: number): string => `above the maximum ${format(config.max[key])} by ${format(value - config.max[key])}`;
    const needed = requested[key] + config.overhead[key];
    // Only reachable with base > max, which config validation rejects; still say who is at fault.
    if (needed <= config.max[key]) return `the base VM ${label} ${format(config.base[key])} is ${above(config.base[key])}`;
    return `pod requests ${format(requested[key])} ${label} + ${format(config.overhead[key])} overhead = ${format(needed)}, ${above(needed)}`;
  });
}

/** One line per dimension where the VM would cost more than the pod is charged. */
function overCharge(charged: Resources, size: Resources): string[] {
  return DIMENSIONS.filter((d) => size[d.key] > charged[d.key]).map(
    ({ key, label, format }) => `its VM needs ${format(size[key])} ${label} but the pod is charged ${format(charged[key])} (requests + spec.overhead)`,
  );
}

/**
 * The VM for the pod: its requests plus the configured overhead, at least `base`, at most `max`, and never more
 * than the pod is charged, so a namespace's quota always covers its VMs.
 */
export function sizeVm(pod: PodLike, config: VmSizingConfig): VmSize {
  const requested = podRequests(pod);
  const size = max(add(requested, config.overhead), config.base);
  const tooBig = overMaximum(requested, config, size);
  if (tooBig.length > 0) return { ok: false, problem: "exceedsMaximum", reason: tooBig.join("; ") };
  const uncharged = overCharge(chargedRequests(pod), size);
  if (uncharged.length > 0) {
    const fix = "give it the RuntimeClass whose overhead is the VM overhead (resourceOverhead), as the webhook does for every pod it selects";
    return { ok: false, problem: "exceedsCharge", reason: `${uncharged.join("; ")}: ${fix}` };
  }
  return { ok: true, ...size, guestCpus: Math.max(1, Math.ceil(size.cpuMillis / 1000)) };
}
