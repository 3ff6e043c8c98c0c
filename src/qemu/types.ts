/** The node VM image a QEMU VM boots directly: its kernel, initrd and raw root filesystem (never written: each VM gets an overlay). */
export interface NodeVmImage {
  readonly kernel: string;
  readonly initrd: string;
  readonly rootfs: string;
}

/** The kernel command line of a node VM: root on the first virtio disk, the console on the serial port, and a panic ends the VM. */
export const NODE_VM_KERNEL_ARGS = "root=/dev/vda rw console=ttyS0 panic=-1";
