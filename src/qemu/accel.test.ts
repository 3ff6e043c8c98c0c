import { describe, expect, it } from "vitest";
import { chooseAccelerator } from "./accel.ts";

const cpuinfo = (flags: string) => `processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu vme ${flags} sse2\n`;

describe("chooseAccelerator", () => {
  it("uses KVM with a vmx or svm CPU and an openable /dev/kvm", () => {
    expect(chooseAccelerator({ cpuinfo: cpuinfo("vmx"), kvmOpens: true })).toMatchObject({ kind: "kvm", qemuArgs: ["-accel", "kvm", "-cpu", "host"] });
    expect(chooseAccelerator({ cpuinfo: cpuinfo("svm"), kvmOpens: true }).kind).toBe("kvm");
  });

  it("uses TCG when /dev/kvm opens but the CPU has no vmx/svm (PVM)", () => {
    const accel = chooseAccelerator({ cpuinfo: cpuinfo("hypervisor"), kvmOpens: true });
    expect(accel.kind).toBe("tcg");
    expect(accel.reason).toMatch(/PVM/);
    expect(accel.qemuArgs).toEqual(["-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max"]);
  });

  it("uses TCG when /dev/kvm does not open, saying why", () => {
    expect(chooseAccelerator({ cpuinfo: cpuinfo("vmx"), kvmOpens: false, kvmError: "ENOENT" })).toMatchObject({ kind: "tcg", reason: "/dev/kvm does not open: ENOENT" });
  });

  it("does not take a flag that merely contains vmx for it", () => {
    expect(chooseAccelerator({ cpuinfo: cpuinfo("vmxnothing"), kvmOpens: true }).kind).toBe("tcg");
  });
});
