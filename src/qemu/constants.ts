/** The QEMU runtime of the KubeVirt stand-in: its names and defaults, in one place. */

export const QEMU_RUNTIME_COMPONENT = "kubevirt-qemu-runtime";
/** status.nodeName of a VMI it runs: the one "virt host", this machine. */
export const QEMU_HOST_NODE = "qemu-virt-host";
/** JSON on the VMI: boot milestone → ISO time, for tests and humans to read while the VMI exists. */
export const BOOT_TIMELINE_ANNOTATION = "qemu.maroonedpods.dev/boot-timeline";

export const QEMU_RUNTIME_DEFAULTS = {
  /** The VMs' network; the bridge takes its first address, which guests reach the host (and the API server) at. */
  subnet: "10.77.0.0/24",
  bridge: "mpbr0",
  tapPrefix: "mptap",
  maxBooting: 2,
  /** From system_powerdown to SIGKILL: the guest is throwaway, so a short wait. */
  stopGraceMs: 5_000,
  /** A boot that never reaches its last milestone gives its slot up after this. */
  bootSlotTimeoutMs: 10 * 60_000,
  /** QEMU's QMP socket must answer within this after the process started. */
  qmpReadyTimeoutMs: 30_000,
  /** How often the serial log is read for milestones. */
  serialPollMs: 500,
  /** Memory a VM may take at most, as a share of the host's free memory at its start. */
  freeMemoryShare: 0.5,
} as const;

/** QEMU's own defaults for an unsized VMI, as KubeVirt's. */
export const DEFAULT_GUEST_MEMORY = "1Gi";

/** Locally administered MACs under QEMU's own OUI, as libvirt and KubeVirt use. */
export const MAC_PREFIX = "52:54:00";

export const PREREQUISITES_FIX = "apt-get install qemu-system-x86 qemu-utils genisoimage dnsmasq-base iproute2 util-linux";
export const REQUIRED_COMMANDS = ["qemu-system-x86_64", "qemu-img", "genisoimage", "dnsmasq", "ip", "setpriv"] as const;

/** How many lines of the serial log a Failed VMI's reason carries. */
export const FAILURE_SERIAL_LINES = 5;
