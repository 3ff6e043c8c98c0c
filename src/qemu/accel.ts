import { open, readFile } from "node:fs/promises";

export interface Accelerator {
  readonly kind: "kvm" | "tcg";
  /** Why this one: logged, so a slow boot under TCG is not a mystery. */
  readonly reason: string;
  readonly qemuArgs: readonly string[];
}

/**
 * KVM only when the CPU has hardware virtualization (vmx/svm) and /dev/kvm opens. An openable /dev/kvm alone is
 * not enough: a host whose KVM is PVM (kvm_pvm, no vmx/svm flag) runs only PVM-built guest kernels, and a stock
 * kernel hangs or dies under it. TCG's tb-size bounds its translation cache (QEMU's RSS otherwise nears 2 GB).
 */
export function chooseAccelerator(host: { cpuinfo: string; kvmOpens: boolean; kvmError?: string }): Accelerator {
  const hardware = /^flags\s*:.*\b(vmx|svm)\b/m.exec(host.cpuinfo)?.[1];
  if (hardware && host.kvmOpens) return { kind: "kvm", reason: `the CPU has ${hardware} and /dev/kvm opens`, qemuArgs: ["-accel", "kvm", "-cpu", "host"] };
  const reason = !hardware
    ? `no vmx/svm CPU flag${host.kvmOpens ? " (a /dev/kvm without it, e.g. PVM, cannot run a stock guest kernel)" : ""}`
    : `/dev/kvm does not open${host.kvmError ? `: ${host.kvmError}` : ""}`;
  return { kind: "tcg", reason, qemuArgs: ["-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max"] };
}

export async function probeAccelerator(): Promise<Accelerator> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  try {
    const handle = await open("/dev/kvm", "r+");
    await handle.close();
    return chooseAccelerator({ cpuinfo, kvmOpens: true });
  } catch (error) {
    return chooseAccelerator({ cpuinfo, kvmOpens: false, kvmError: (error as NodeJS.ErrnoException).code ?? String(error) });
  }
}
