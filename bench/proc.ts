import { readFile, writeFile } from "node:fs/promises";

/** Linux reports CPU times in USER_HZ ticks, 100 per second on every architecture Node runs on. */
const USER_HZ = 100;

/** User + system CPU seconds from the text of /proc/<pid>/stat. */
export function cpuSecondsFromStat(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Field 3 (state) is fields[0]; utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/**
 * CPU seconds the hypervisor took from this machine's cores (steal, summed over them) from the text of /proc/stat:
 * time the benchmark's processes waited for CPU that no process here used.
 */
export function stealSecondsFromProcStat(stat: string): number {
  // The aggregate line: user nice system idle iowait irq softirq steal guest guest_nice.
  const fields = /^cpu\s+(.*)$/m.exec(stat)?.[1]?.trim().split(/\s+/) ?? [];
  return Number(fields[7] ?? 0) / USER_HZ;
}

/** Steal seconds so far on this machine (Linux only). */
export async function machineStealSeconds(): Promise<number> {
  return stealSecondsFromProcStat(await readFile("/proc/stat", "utf8"));
}

/** A `kB` field of /proc/<pid>/status (VmHWM, VmRSS, ...) in MiB. */
function statusMiB(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m").exec(status);
  return match ? Number(match[1]) / 1024 : undefined;
}

/** Peak resident set size (VmHWM) in MiB from the text of /proc/<pid>/status. */
export const peakRssMiBFromStatus = (status: string): number | undefined => statusMiB(status, "VmHWM");

/** Resident set size now (VmRSS) in MiB from the text of /proc/<pid>/status. */
export const rssMiBFromStatus = (status: string): number | undefined => statusMiB(status, "VmRSS");

export interface ProcessUsage {
  readonly cpuSeconds: number;
  readonly peakRssMiB: number | undefined;
}

/** CPU time so far and peak RSS of a live process (Linux only). */
export async function processUsage(pid: number): Promise<ProcessUsage> {
  const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, "utf8"), readFile(`/proc/${pid}/status`, "utf8")]);
  return { cpuSeconds: cpuSecondsFromStat(stat), peakRssMiB: peakRssMiBFromStatus(status) };
}

/** Resident set size now of a live process (Linux only). */
export async function residentMiB(pid: number): Promise<number | undefined> {
  return rssMiBFromStatus(await readFile(`/proc/${pid}/status`, "utf8"));
}

/** The command name of a live process (Linux only). */
export async function processName(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, "utf8")).trim();
}

/**
 * Resets the process's peak RSS (VmHWM) to its RSS now, so a later reading is the peak of what came after: each
 * benchmark step's own peak. Linux's /proc/<pid>/clear_refs, value 5; the caller must own the process.
 */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, "5");
}
