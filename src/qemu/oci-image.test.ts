import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SANDBOX_IMAGE, SHELL_IMAGE } from "./images.ts";
import { MEDIA_TYPES, ociImageLayout, tarArchive, type Descriptor } from "./oci-image.ts";
import { SHELL_APPLETS, sandboxImage, shellImage } from "./preload-images.ts";

/** The regular files of a ustar archive by name (enough to read back what tarArchive writes). */
function untar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let offset = 0; offset + 512 <= archive.length; ) {
    const header = archive.subarray(offset, offset + 512);
    const name = header.toString("utf8", 0, 100).replace(/\0.*$/s, "");
    if (name === "") break;
    const size = Number.parseInt(header.toString("utf8", 124, 136).replace(/\0.*$/s, ""), 8);
    if (header.toString("utf8", 156, 157) === "0") files.set(name, archive.subarray(offset + 512, offset + 512 + size));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

const digestOf = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const parse = (data: Buffer | undefined): Record<string, unknown> => JSON.parse(data?.toString("utf8") ?? "null") as Record<string, unknown>;

/** The blob a descriptor names, after checking its digest and size. */
function blob(files: Map<string, Buffer>, descriptor: Descriptor): Buffer {
  const data = files.get(`blobs/sha256/${descriptor.digest.slice("sha256:".length)}`);
  if (!data) throw new Error(`no blob for ${descriptor.digest}`);
  expect(digestOf(data)).toBe(descriptor.digest);
  expect(data.length).toBe(descriptor.size);
  return data;
}

/** GNU tar's listing of an archive: checks the format against a real reader. */
function tarList(archive: Buffer): string[] {
  const dir = mkdtempSync(join(tmpdir(), "marooned-oci-"));
  try {
    writeFileSync(join(dir, "a.tar"), archive);
    const result = spawnSync("tar", ["--numeric-owner", "-tvf", join(dir, "a.tar")], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    return result.stdout.trim().split("\n").map((line) => line.split(/\s+/).filter((_, i) => i !== 2 && i !== 3 && i !== 4).join(" "));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("tarArchive", () => {
  it("writes a ustar archive GNU tar reads: modes, owner 0/0, symlinks", () => {
    const archive = tarArchive([
      { type: "directory", path: "bin", mode: 0o755 },
      { type: "file", path: "bin/tool", mode: 0o755, content: Buffer.from("#!/bin/sh\n") },
      { type: "symlink", path: "bin/alias", target: "tool" },
      { type: "directory", path: "tmp", mode: 0o1777 },
    ]);
    expect(archive.length % 512).toBe(0);
    expect(tarList(archive)).toEqual(["drwxr-xr-x 0/0 bin/", "-rwxr-xr-x 0/0 bin/tool", "lrwxrwxrwx 0/0 bin/alias -> tool", "drwxrwxrwt 0/0 tmp/"]);
    expect(untar(archive).get("bin/tool")?.toString()).toBe("#!/bin/sh\n");
  });

  it("is reproducible, so the image key covers its output", () => {
    const entries = [{ type: "file", path: "pause", mode: 0o755, content: Buffer.from("x") }] as const;
    expect(tarArchive(entries).equals(tarArchive(entries))).toBe(true);
  });

  it("refuses a name ustar cannot hold", () => {
    expect(() => tarArchive([{ type: "file", path: "a/".repeat(60), mode: 0o644, content: Buffer.alloc(0) }])).toThrow(/over 100 bytes/);
  });
});

describe("ociImageLayout", () => {
  const images = [sandboxImage(Buffer.from("pause binary")), shellImage(Buffer.from("busybox binary"))];
  const files = untar(ociImageLayout(images));
  const index = parse(files.get("index.json")) as { mediaType: string; manifests: (Descriptor & { platform: unknown; annotations: Record<string, string> })[] };

  it("is a layout with one index entry per image, named for ctr import", () => {
    expect(parse(files.get("oci-layout"))).toEqual({ imageLayoutVersion: "1.0.0" });
    expect(index.mediaType).toBe(MEDIA_TYPES.index);
    expect(index.manifests.map((entry) => entry.annotations)).toEqual(
      [SANDBOX_IMAGE, SHELL_IMAGE].map((name) => ({ "io.containerd.image.name": name, "org.opencontainers.image.ref.name": name })),
    );
    for (const entry of index.manifests) {
      expect(entry.mediaType).toBe(MEDIA_TYPES.manifest);
      expect(entry.platform).toEqual({ architecture: "amd64", os: "linux" });
    }
  });

  it.each([
    [SANDBOX_IMAGE, ["pause"]],
    [SHELL_IMAGE, ["bin/busybox"]],
  ] as const)("%s: manifest, config and layer with matching digests and sizes", (name, layerFiles) => {
    const entry = index.manifests.find((candidate) => candidate.annotations["io.containerd.image.name"] === name);
    if (!entry) throw new Error(`no ${name} in the index`);
    const manifest = parse(blob(files, entry)) as { config: Descriptor; layers: Descriptor[] };
    expect(manifest.config.mediaType).toBe(MEDIA_TYPES.config);
    expect(manifest.layers.map((layer) => layer.mediaType)).toEqual([MEDIA_TYPES.layer]);
    const config = parse(blob(files, manifest.config)) as { os: string; architecture: string; rootfs: { diff_ids: string[] } };
    const [layerDescriptor] = manifest.layers;
    if (!layerDescriptor) throw new Error("no layer");
    const layer = blob(files, layerDescriptor);
    expect(config).toMatchObject({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [digestOf(layer)] } });
    expect([...untar(layer).keys()]).toEqual(layerFiles);
  });

  it("holds exactly the blobs the manifests name, each once", () => {
    const named = index.manifests.flatMap((entry) => {
      const manifest = parse(blob(files, entry)) as { config: Descriptor; layers: Descriptor[] };
      return [entry.digest, manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)];
    });
    expect([...files.keys()].filter((file) => file.startsWith("blobs/")).sort()).toEqual([...new Set(named)].map((digest) => `blobs/sha256/${digest.slice("sha256:".length)}`).sort());
  });

  it("gives the shell image a link per applet and sh as its command", () => {
    const image = shellImage(Buffer.from("busybox"));
    expect(image.cmd).toEqual(["sh"]);
    expect(image.layer.filter((entry) => entry.type === "symlink").map((entry) => entry.path)).toEqual(SHELL_APPLETS.map((applet) => `bin/${applet}`));
  });
});
