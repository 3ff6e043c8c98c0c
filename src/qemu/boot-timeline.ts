/**
 * Boot milestones read from a VM's serial console. The order is the boot's; the last one ends the boot
 * (its slot is given back). Patterns match anywhere in a line, so kernel timestamps and prefixes do not matter.
 */
export const BOOT_MILESTONES = [
  { name: "kernelStarted", pattern: /Linux version \d/ },
  { name: "systemdReady", pattern: /Reached target .*(Multi-User System|multi-user)/ },
  { name: "cloudInitFinished", pattern: /Cloud-init v\. \S+ finished/ },
  { name: "joinStarted", pattern: /marooned-node-boot: running kubeadm join/ },
  { name: "joinDone", pattern: /kubeadm join done/ },
] as const;

export type BootMilestone = (typeof BOOT_MILESTONES)[number]["name"];
export const LAST_BOOT_MILESTONE: BootMilestone = "joinDone";

export interface SerialScan {
  /** Milestones first seen in this chunk, in the order their lines came. */
  readonly found: BootMilestone[];
  /** The chunk's unfinished last line, to prepend to the next chunk. */
  readonly carry: string;
}

/** Scans newly read serial output for milestones not `seen` before. Pure: the caller keeps `carry` and `seen`. */
export function scanSerialChunk(carry: string, chunk: string, seen: ReadonlySet<BootMilestone>): SerialScan {
  const lines = (carry + chunk).split("\n");
  const rest = lines.pop() ?? "";
  const found: BootMilestone[] = [];
  for (const line of lines) {
    for (const milestone of BOOT_MILESTONES) {
      if (!seen.has(milestone.name) && !found.includes(milestone.name) && milestone.pattern.test(line)) found.push(milestone.name);
    }
  }
  return { found, carry: rest };
}

/** The last `count` non-empty lines of a serial log, carriage returns dropped: for a failure's reason. */
export function lastLines(text: string, count: number): string[] {
  return text.replaceAll("\r", "").split("\n").filter((line) => line.trim() !== "").slice(-count);
}
