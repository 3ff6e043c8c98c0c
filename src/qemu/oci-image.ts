import { createHash } from "node:crypto";

/**
 * Writes single-layer container images as an OCI image-layout tar that
 * `ctr images import` takes, byte-for-byte reproducible (fixed owner, mode and
 * mtime), so the image cache key covers what it produces.
 */

export type TarEntry =
  | { readonly type: "directory"; readonly path: string; readonly mode: number }
  | { readonly type: "file"; readonly path: string; readonly mode: number; readonly content: Buffer }
  | { readonly type: "symlink"; readonly path: string; readonly target: string };

const BLOCK = 512;
const TYPE_FLAG = { file: "0", symlink: "2", directory: "5" } as const;

function header(entry: TarEntry, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const name = entry.type === "directory" ? `${entry.path.replace(/\/$/, "")}/` : entry.path;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name over 100 bytes: ${name}`);
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0") + "\0";
  block.write(name, 0);
  block.write(octal(entry.type === "symlink" ? 0o777 : entry.mode, 8), 100);
  block.write(octal(0, 8), 108); // uid
  block.write(octal(0, 8), 116); // gid
  block.write(octal(size, 12), 124);
  block.write(octal(0, 12), 136); // mtime
  block.write(TYPE_FLAG[entry.type], 156);
  if (entry.type === "symlink") block.write(entry.target, 157);
  block.write("ustar\u000000", 257);
  // The checksum is computed with its own field as spaces.
  block.write(" ".repeat(8), 148);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + " ", 148);
  return block;
}

/** A ustar archive of the entries, in the order given, owned by root with mtime 0. */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type === "file" ? entry.content : Buffer.alloc(0);
    parts.push(header(entry, content.length), content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export interface OciImage {
  /** The full reference, e.g. registry.k8s.io/pause:3.10.1. */
  readonly name: string;
  /** The root filesystem's one layer. */
  readonly layer: readonly TarEntry[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly user?: string;
}

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

const PLATFORM = { architecture: "amd64", os: "linux" } as const;

const sha256 = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const describe = (mediaType: string, data: Buffer): Descriptor => ({ mediaType, digest: sha256(data), size: data.length });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** One image's blobs (config, manifest, layer) and its entry in the layout's index. */
function imageBlobs(image: OciImage): { blobs: Buffer[]; entry: unknown } {
  const layer = tarArchive(image.layer);
  const layerDescriptor = describe(MEDIA_TYPES.layer, layer);
  const config = json({
    ...PLATFORM,
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(image.entrypoint ? { Entrypoint: image.entrypoint } : {}),
      ...(image.cmd ? { Cmd: image.cmd } : {}),
      ...(image.user ? { User: image.user } : {}),
    },
    // The layer is uncompressed, so its diff ID is its digest.
    rootfs: { type: "layers", diff_ids: [layerDescriptor.digest] },
  });
  const manifest = json({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config: describe(MEDIA_TYPES.config, config), layers: [layerDescriptor] });
  // containerd names the imported image after io.containerd.image.name; other tools read the OCI ref name.
  const annotations = { "io.containerd.image.name": image.name, "org.opencontainers.image.ref.name": image.name };
  return { blobs: [config, manifest, layer], entry: { ...describe(MEDIA_TYPES.manifest, manifest), platform: PLATFORM, annotations } };
}

/**
 * The images as one OCI image layout (oci-layout, index.json, blobs/sha256/*)
 * in a tar: one `ctr images import` imports and names them all, and under TCG
 * each ctr run costs seconds.
 */
export function ociImageLayout(images: readonly OciImage[]): Buffer {
  const perImage = images.map(imageBlobs);
  const blobs = new Map<string, Buffer>();
  for (const data of perImage.flatMap((image) => image.blobs)) blobs.set(sha256(data).slice("sha256:".length), data);
  const index = json({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: perImage.map((image) => image.entry) });
  return tarArchive([
    { type: "file", path: "oci-layout", mode: 0o644, content: json({ imageLayoutVersion: "1.0.0" }) },
    { type: "file", path: "index.json", mode: 0o644, content: index },
    { type: "directory", path: "blobs", mode: 0o755 },
    { type: "directory", path: "blobs/sha256", mode: 0o755 },
    ...[...blobs].map(([hex, data]): TarEntry => ({ type: "file", path: `blobs/sha256/${hex}`, mode: 0o644, content: data })),
  ]);
}
