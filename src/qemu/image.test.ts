import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_VERSIONS } from "../devcluster/versions.ts";
import { effectiveFileList, parseFileList } from "./file-list.ts";
import { SANDBOX_IMAGE } from "./images.ts";
import { checkNodeVmImagePrerequisites, imageKey, nodeBinaryDirectory, nodeVmImageInputs, nodeVmImagePaths } from "./image.ts";
import { NODE_VM_KERNEL_ARGS } from "./types.ts";

const repoFile = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("the file lists", () => {
  it("parses SOURCE DESTINATION MODE lines, skipping comments and blank lines", () => {
    expect(parseFileList("# comment\n\n  a.sh   /usr/bin/a  0755\n- /etc/x 0644\n", "l")).toEqual([
      { source: "a.sh", destination: "/usr/bin/a", mode: 0o755 },
      { source: "-", destination: "/etc/x", mode: 0o644 },
    ]);
  });

  it.each([
    ["a /x", "l:1: want SOURCE DESTINATION MODE"],
    ["a x 0644", "l:1: destination must be absolute"],
    ["a /etc/../x 0644", "l:1: destination must be absolute, without .."],
    ["a /x 644", "l:1: mode must be octal like 0644"],
  ])("refuses %j naming the line", (line, message) => {
    expect(() => parseFileList(line, "l")).toThrow(message);
  });

  it("lets a later list replace a destination, or keep the distribution's file with -", () => {
    const flavor = parseFileList("a /a 0644\nb /b 0644\nc /c 0644\n", "flavor");
    const vm = parseFileList("- /a 0644\nb2 /b 0755\nd /d 0644\n", "vm");
    expect(effectiveFileList([flavor, vm])).toEqual([
      { source: "b2", destination: "/b", mode: 0o755 },
      { source: "c", destination: "/c", mode: 0o644 },
      { source: "d", destination: "/d", mode: 0o644 },
    ]);
  });

  it("the VM keeps Debian's containerd.service and swaps in a containerd 1.6 config with the preloaded pause image", () => {
    const vm = parseFileList(repoFile("images/node/vm/files.txt"), "vm/files.txt");
    expect(vm).toContainEqual({ source: "-", destination: "/usr/lib/systemd/system/containerd.service", mode: 0o644 });
    expect(vm).toContainEqual({ source: "vm/containerd-config.toml", destination: "/etc/containerd/config.toml", mode: 0o644 });
    const config = repoFile("images/node/vm/containerd-config.toml");
    expect(config).toMatch(/^version = 2$/m);
    expect(config).toContain(`sandbox_image = "${SANDBOX_IMAGE}"`);
    expect(config).toContain('bin_dir = "/usr/lib/cni"');
  });
});

describe("the image's cache key", () => {
  it("depends on every input's name and content, not on their order", () => {
    const inputs = [
      { name: "a", content: "1" },
      { name: "b", content: Buffer.from("2") },
    ];
    const key = imageKey(inputs);
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(imageKey([...inputs].reverse())).toBe(key);
    expect(imageKey([{ name: "a", content: "1" }, { name: "b", content: "3" }])).not.toBe(key);
    expect(imageKey([{ name: "a", content: "1" }, { name: "c", content: "2" }])).not.toBe(key);
    // A name's bytes never pass for content.
    expect(imageKey([{ name: "ab", content: "" }])).not.toBe(imageKey([{ name: "a", content: "b" }]));
  });

  it("covers the scripts, the lists, every file they install and the Kubernetes version", async () => {
    const inputs = await nodeVmImageInputs(CONTROL_PLANE_VERSIONS.kubernetes);
    const names = inputs.map((input) => input.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "scripts/build-node-vm-image.sh",
        "scripts/build-control-plane.sh",
        "images/node/install-files.sh",
        "images/node/kubeadm/files.txt",
        "images/node/vm/files.txt",
        "images/node/vm/packages.txt",
        "images/node/marooned-node-boot.sh",
        "images/node/kubeadm/10-kubeadm.conf",
        "images/node/vm/initramfs/hooks/marooned-virtio",
        "src/qemu/oci-image.ts",
        "kubernetes version",
      ]),
    );
    expect(names).not.toContain("images/node/kubeadm/containerd.service");
    expect(inputs.find((input) => input.name === "kubernetes version")?.content).toBe(CONTROL_PLANE_VERSIONS.kubernetes);
    expect(imageKey(await nodeVmImageInputs("v1.35.5"))).not.toBe(imageKey(inputs));
  });

  it("places the image and the node binaries under the cache root by key and version", () => {
    expect(nodeVmImagePaths("/cache", "0123456789abcdef")).toEqual({
      kernel: "/cache/node-vm-image/0123456789abcdef/vmlinuz",
      initrd: "/cache/node-vm-image/0123456789abcdef/initrd.img",
      rootfs: "/cache/node-vm-image/0123456789abcdef/rootfs.raw",
      key: "0123456789abcdef",
      directory: "/cache/node-vm-image/0123456789abcdef",
    });
    expect(nodeBinaryDirectory("/cache", "v1.35.4")).toBe("/cache/node-binaries/k8s-v1.35.4");
    expect(NODE_VM_KERNEL_ARGS).toContain("root=/dev/vda");
  });
});

describe("checkNodeVmImagePrerequisites", () => {
  it("names every missing tool with the command that installs it", async () => {
    const check = checkNodeVmImagePrerequisites({ PATH: "/nonexistent" });
    await expect(check).rejects.toThrow(/mmdebstrap is not on PATH: apt-get install mmdebstrap; mkfs\.ext4 is not on PATH: apt-get install e2fsprogs;/);
    await expect(check).rejects.toThrow(/gcc is not on PATH: apt-get install gcc libc6-dev/);
  });
});
