import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { OWNED_LABELS, POD_ANNOTATIONS, POD_CONDITIONS } from "../api/conditions.ts";
import { podStanding } from "../controller/census.ts";

export interface StatusRow {
  readonly pod: string;
  readonly vm: string;
  readonly node: string;
  readonly phase: string;
  /** Seconds from the pod's creation to each step, or "-" when not reached. */
  readonly vmCreated: string;
  readonly nodeTrusted: string;
  readonly running: string;
  readonly lastEvent: string;
}

const seconds = (from: Date | undefined, to: Date | string | undefined): string =>
  from && to ? `${((new Date(to).getTime() - new Date(from).getTime()) / 1000).toFixed(1)}s` : "-";

function conditionTime(pod: V1Pod, type: string): Date | undefined {
  const condition = pod.status?.conditions?.find((c) => c.type === type && c.status === "True");
  return condition?.lastTransitionTime;
}


/** What the table reads of a VMI: its name and the pod UID its owner label names. */
export interface VmiMeta {
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> };
}

/** One row per managed pod, oldest first; its VM is the VMI labeled with its UID; the last event is the newest that names the pod. */
export function statusRows(pods: readonly V1Pod[], events: readonly CoreV1Event[], vmis: readonly VmiMeta[]): StatusRow[] {
  const vmByUid = new Map(vmis.map((vmi) => [vmi.metadata?.labels?.[OWNED_LABELS.podUid] ?? "", vmi.metadata?.name ?? "-"]));
  const newest = new Map<string, CoreV1Event>();
  const when = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).getTime();
  for (const event of events) {
    const uid = event.involvedObject.uid ?? "";
    const seen = newest.get(uid);
    if (!seen || when(event) >= when(seen)) newest.set(uid, event);
  }
  return [...pods]
    .sort((a, b) => new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime())
    .map((pod) => {
      const created = pod.metadata?.creationTimestamp;
      const event = newest.get(pod.metadata?.uid ?? "");
      return {
        pod: `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`,
        // A pod that claimed a warm pool VM says so: its WarmPool condition, in its status.
        vm: `${vmByUid.get(pod.metadata?.uid ?? "") ?? "-"}${conditionTime(pod, POD_CONDITIONS.WarmPool) ? " (warm pool)" : ""}`,
        node: pod.spec?.nodeName ?? pod.metadata?.annotations?.[POD_ANNOTATIONS.node] ?? "-",
        phase: podStanding(pod),
        vmCreated: seconds(created, conditionTime(pod, POD_CONDITIONS.VMLaunched)),
        nodeTrusted: seconds(created, conditionTime(pod, POD_CONDITIONS.NodeTrusted)),
        running: seconds(created, pod.status?.phase === "Running" ? pod.status.startTime : undefined),
        lastEvent: event ? `${event.reason ?? ""}: ${event.message ?? ""}` : "-",
      };
    });
}

const COLUMNS: readonly [keyof StatusRow, string][] = [
  ["pod", "POD"],
  ["vm", "VM"],
  ["node", "NODE"],
  ["phase", "PHASE"],
  ["vmCreated", "VM CREATED"],
  ["nodeTrusted", "NODE TRUSTED"],
  ["running", "RUNNING"],
  ["lastEvent", "LAST EVENT"],
];

/** A kubectl-style table; the last column is not padded. */
export function renderStatusTable(rows: readonly StatusRow[]): string {
  if (rows.length === 0) return "No marooned pods found.\n";
  const cells = [COLUMNS.map(([, title]) => title), ...rows.map((row) => COLUMNS.map(([key]) => row[key]))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i]?.length ?? 0)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2))).join("").trimEnd()).join("\n") + "\n";
}
