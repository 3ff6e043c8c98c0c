import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { NodeVmImage } from "../../src/qemu/types.ts";

const exec = promisify(execFile);

/**
 * A tiny guest for the QEMU runtime's tests: Debian's stock kernel and a busybox initramfs whose /init loads the
 * virtio drivers, takes eth0's address by DHCP, reads the NoCloud seed and prints what it got on the serial
 * console (lines starting `test-guest:`), then waits. Boots in seconds even under TCG. Not the node image.
 */
export const TEST_GUEST_PREFIX = "test-guest:";

/** Load order matters: each module after the ones it needs. */
const MODULES = [
  "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko", "drivers/virtio/virtio_pci_modern_dev.ko", "drivers/virtio/virtio_pci_legacy_dev.ko",
  "drivers/virtio/virtio_pci.ko", "net/core/failover.ko", "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko", "drivers/block/virtio_blk.ko",
  "drivers/cdrom/cdrom.ko", "fs/isofs/isofs.ko",
];

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in ${MODULES.map((m) => m.split("/").pop()).join(" ")}; do insmod /lib/modules/$m; done
echo "${TEST_GUEST_PREFIX} disks $(ls /sys/block | tr '\\n' ' ')"
ip link set lo up; ip link set eth0 up
udhcpc -i eth0 -s /udhcpc.script -n -q -t 20 -T 1
mount -t iso9660 -o ro /dev/vdb /mnt && sed 's/^/${TEST_GUEST_PREFIX} meta-data /' /mnt/meta-data
hostname "$(sed -n 's/^local-hostname: //p' /mnt/meta-data)"
echo "${TEST_GUEST_PREFIX} hostname $(hostname)"
echo "${TEST_GUEST_PREFIX} Cloud-init v. test-guest finished (a stand-in line, for the boot timeline)"
while true; do sleep 3600; done
`;

const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in bound|renew) ip addr add "$ip/$mask" dev "$interface"; echo "${TEST_GUEST_PREFIX} dhcp bound $ip";; esac
`;

/** Debian's kernel package for this release, downloaded with apt (no install) and unpacked. */
async function fetchKernel(into: string): Promise<string> {
  const depends = (await exec("apt-cache", ["depends", "linux-image-amd64"])).stdout;
  const pkg = /Depends: (linux-image-\S+)/.exec(depends)?.[1];
  if (!pkg) throw new Error("apt-cache knows no linux-image-amd64; run: apt-get update");
  await exec("apt-get", ["download", pkg], { cwd: into });
  const deb = (await readdir(into)).find((f) => f.endsWith(".deb"));
  if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${into}`);
  await exec("dpkg-deb", ["-x", join(into, deb), join(into, "x")]);
  return join(into, "x");
}

/** The test guest, built once into the cache (a kernel download of ~70 MB the first time). */
export async function ensureTestGuest(cacheRoot: string): Promise<NodeVmImage> {
  const dir = join(cacheRoot, "qemu-test-guest-v1");
  const image: NodeVmImage = { kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.gz"), rootfs: join(dir, "rootfs.raw") };
  if ([image.kernel, image.initrd, image.rootfs].every((file) => existsSync(file))) return image;
  const work = await mkdtemp(join(tmpdir(), "qemu-test-guest-"));
  try {
    const unpacked = await fetchKernel(work);
    const boot = join(unpacked, "boot");
    const vmlinuz = (await readdir(boot)).find((f) => f.startsWith("vmlinuz-"));
    if (!vmlinuz) throw new Error("the kernel package has no /boot/vmlinuz-*");
    const modulesRoot = join(unpacked, "lib/modules", vmlinuz.slice("vmlinuz-".length), "kernel");
    const root = join(work, "root");
    for (const sub of ["bin", "proc", "sys", "dev", "mnt", "lib/modules"]) await mkdir(join(root, sub), { recursive: true });
    await copyFile("/usr/bin/busybox", join(root, "bin/busybox")).catch((error: unknown) => {
      throw new Error("/usr/bin/busybox missing; install: apt-get install busybox-static", { cause: error });
    });
    for (const module of MODULES) await copyFile(join(modulesRoot, module), join(root, "lib/modules", module.split("/").pop() ?? ""));
    await writeFile(join(root, "init"), INIT);
    await writeFile(join(root, "udhcpc.script"), UDHCPC_SCRIPT);
    await chmod(join(root, "init"), 0o755);
    await chmod(join(root, "udhcpc.script"), 0o755);
    await exec("sh", ["-c", "find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > ../initrd.gz"], { cwd: root });
    await writeFile(join(work, "rootfs.raw"), "");
    // The guest never mounts it; it only has to exist as the overlay's backing file.
    await truncate(join(work, "rootfs.raw"), 64 * 1024 * 1024);
    await mkdir(dir, { recursive: true });
    await rename(join(boot, vmlinuz), image.kernel);
    await rename(join(work, "initrd.gz"), image.initrd);
    await rename(join(work, "rootfs.raw"), image.rootfs);
    return image;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
