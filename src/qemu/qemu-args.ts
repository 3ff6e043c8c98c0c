import { NODE_VM_KERNEL_ARGS, type NodeVmImage } from "./types.ts";

export interface VmLaunch {
  readonly name: string;
  readonly image: NodeVmImage;
  readonly accelArgs: readonly string[];
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly overlay: string;
  readonly seedIso: string;
  readonly tap: string;
  readonly mac: string;
  readonly serialLog: string;
  readonly qmpSocket: string;
}

/**
 * QEMU's command line for a node VM: direct kernel boot, the overlay as the first virtio disk (/dev/vda, the root)
 * and the NoCloud seed as the second, read-only (cloud-init finds it by its cidata label, as with KubeVirt's
 * virtio cloud-init disk), one virtio NIC on the VM's tap. No defaults (floppy probing), no display, no reboot:
 * a guest that panics or powers off ends the process, and the VMI follows.
 */
export function qemuArgs(vm: VmLaunch): string[] {
  return [
    "-name", `guest=${vm.name}`,
    "-nodefaults", "-display", "none", "-no-reboot",
    ...vm.accelArgs,
    "-smp", String(vm.vcpus), "-m", String(vm.memoryMiB),
    "-kernel", vm.image.kernel, "-initrd", vm.image.initrd, "-append", NODE_VM_KERNEL_ARGS,
    "-serial", `file:${vm.serialLog}`,
    "-drive", `file=${vm.overlay},format=qcow2,if=virtio,cache=unsafe`,
    "-drive", `file=${vm.seedIso},format=raw,if=virtio,readonly=on`,
    "-netdev", `tap,id=n0,ifname=${vm.tap},script=no,downscript=no`,
    "-device", `virtio-net-pci,netdev=n0,mac=${vm.mac}`,
    "-qmp", `unix:${vm.qmpSocket},server,nowait`,
  ];
}
