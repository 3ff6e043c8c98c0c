import { describe, expect, it } from "vitest";
import { qemuArgs } from "./qemu-args.ts";

describe("qemuArgs", () => {
  const args = qemuArgs({
    name: "vms_vm-a",
    image: { kernel: "/img/vmlinuz", initrd: "/img/initrd", rootfs: "/img/root.raw" },
    accelArgs: ["-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max"],
    vcpus: 2,
    memoryMiB: 1024,
    overlay: "/w/vm/overlay.qcow2",
    seedIso: "/w/vm/seed.iso",
    tap: "mptap0",
    mac: "52:54:00:aa:bb:cc",
    serialLog: "/w/serial.log",
    qmpSocket: "/w/vm/qmp.sock",
  });
  const valueOf = (flag: string) => args[args.indexOf(flag) + 1];

  it("boots the image's kernel with the node kernel arguments", () => {
    expect(valueOf("-kernel")).toBe("/img/vmlinuz");
    expect(valueOf("-initrd")).toBe("/img/initrd");
    expect(valueOf("-append")).toBe("root=/dev/vda rw console=ttyS0 panic=-1");
  });

  it("puts the overlay first (the root disk) and the seed second, read-only", () => {
    expect(args.filter((_, i) => args[i - 1] === "-drive")).toEqual([
      "file=/w/vm/overlay.qcow2,format=qcow2,if=virtio,cache=unsafe",
      "file=/w/vm/seed.iso,format=raw,if=virtio,readonly=on",
    ]);
  });

  it("sizes the VM, names it, and wires its tap, MAC, serial log and QMP socket", () => {
    expect([valueOf("-smp"), valueOf("-m"), valueOf("-name")]).toEqual(["2", "1024", "guest=vms_vm-a"]);
    expect(valueOf("-netdev")).toBe("tap,id=n0,ifname=mptap0,script=no,downscript=no");
    expect(valueOf("-device")).toBe("virtio-net-pci,netdev=n0,mac=52:54:00:aa:bb:cc");
    expect(valueOf("-serial")).toBe("file:/w/serial.log");
    expect(valueOf("-qmp")).toBe("unix:/w/vm/qmp.sock,server,nowait");
    expect(args).toEqual(expect.arrayContaining(["-nodefaults", "-no-reboot", "-accel", "tcg,thread=multi,tb-size=256"]));
  });
});
