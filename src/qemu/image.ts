import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { access, mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { PrerequisiteError, requireGo, runTool } from "../devcluster/prerequisites.ts";
import { CONTROL_PLANE_VERSIONS, MINIMUM_GO_VERSIONS } from "../devcluster/versions.ts";
import { effectiveFileList, parseFileList } from "./file-list.ts";
import { writePreloadImages } from "./preload-images.ts";
import type { NodeVmImage } from "./types.ts";

/**
 * The guest image real dev VMs boot: the kubeadm flavor of the node image on
 * Debian bookworm (scripts/build-node-vm-image.sh), as a kernel, an initrd and
 * a raw ext4 root disk, built once per set of inputs into the cache.
 */

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const NODE_DIR = join(REPO, "images/node");
const BUILD_SCRIPT = join(REPO, "scripts/build-node-vm-image.sh");
/** kubelet and kubeadm are built the way the control plane is, by the same script. */
const BINARIES_SCRIPT = join(REPO, "scripts/build-control-plane.sh");
/** The file lists install-files.sh reads, in order (relative to images/node): the flavor's, then the VM's overrides. */
export const FILE_LISTS = ["kubeadm/files.txt", "vm/files.txt"] as const;
export const NODE_BINARIES = ["kubelet", "kubeadm"] as const;

/** A built image: what a VM boots, and where it lives in the cache under which key. */
export interface BuiltNodeVmImage extends NodeVmImage {
  readonly key: string;
  readonly directory: string;
}

export const nodeBinaryDirectory = (cacheRoot: string, kubernetesVersion: string): string => join(cacheRoot, "node-binaries", `k8s-${kubernetesVersion}`);
export const nodeVmImageDirectory = (cacheRoot: string, key: string): string => join(cacheRoot, "node-vm-image", key);

export function nodeVmImagePaths(cacheRoot: string, key: string): BuiltNodeVmImage {
  const directory = nodeVmImageDirectory(cacheRoot, key);
  return { kernel: join(directory, "vmlinuz"), initrd: join(directory, "initrd.img"), rootfs: join(directory, "rootfs.raw"), key, directory };
}

export interface KeyInput {
  readonly name: string;
  readonly content: string | Buffer;
}

/** 16 hex digits of a sha256 over every input, independent of their order; a name is never mistaken for content. */
export function imageKey(inputs: readonly KeyInput[]): string {
  const hash = createHash("sha256");
  for (const { name, content } of [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const bytes = Buffer.from(content);
    hash.update(`${name}\0${String(bytes.length)}\0`).update(bytes);
  }
  return hash.digest("hex").slice(0, 16);
}

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/**
 * Everything the image is made from: the build scripts, the file lists and
 * every file they install, the VM-only files, the preloaded images' writers,
 * and the Kubernetes version kubelet and kubeadm are built from. (Debian's
 * packages are whatever the mirror serves at build time: not keyed.)
 */
export async function nodeVmImageInputs(kubernetesVersion: string): Promise<KeyInput[]> {
  const lists = await Promise.all(FILE_LISTS.map(async (list) => parseFileList(await readFile(join(NODE_DIR, list), "utf8"), list)));
  const paths = new Set([
    BUILD_SCRIPT,
    BINARIES_SCRIPT,
    join(NODE_DIR, "install-files.sh"),
    ...FILE_LISTS.map((list) => join(NODE_DIR, list)),
    ...effectiveFileList(lists).map((entry) => join(NODE_DIR, entry.source)),
    ...(await filesUnder(join(NODE_DIR, "vm"))),
    ...["oci-image.ts", "preload-images.ts", "images.ts"].map((file) => fileURLToPath(new URL(file, import.meta.url))),
  ]);
  const files = await Promise.all([...paths].map(async (path) => ({ name: relative(REPO, path), content: await readFile(path) })));
  return [...files, { name: "kubernetes version", content: kubernetesVersion }];
}

const REQUIRED_COMMANDS = [
  ["mmdebstrap", "apt-get install mmdebstrap"],
  ["mkfs.ext4", "apt-get install e2fsprogs"],
  ["systemctl", "apt-get install systemd"],
  ["gcc", "apt-get install gcc libc6-dev"],
  ["strip", "apt-get install binutils"],
] as const;

/** Fails with a PrerequisiteError naming every missing tool and its one-line fix; the build needs root for mmdebstrap's chroot. */
export async function checkNodeVmImagePrerequisites(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push("the node VM image build runs mmdebstrap --mode=root: run it as root");
  for (const [command, fix] of REQUIRED_COMMANDS) {
    if ((await runTool("sh", ["-c", `command -v ${command}`], env)).status !== 0) problems.push(`${command} is not on PATH: ${fix}`);
  }
  // A static link needs libc.a, which gcc alone does not bring.
  if (problems.length === 0 && (await runTool("gcc", ["-print-file-name=libc.a"], env)).stdout.trim() === "libc.a") problems.push("gcc finds no static libc: apt-get install libc6-dev");
  if (problems.length > 0) throw new PrerequisiteError(problems.join("; "));
  await requireGo(MINIMUM_GO_VERSIONS.controlPlane, env);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function runScript(script: string, args: readonly string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script, ...args], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } });
    child.on("error", (error) => {
      reject(new Error(`cannot run ${script}: ${error.message} (is bash installed?)`));
    });
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${script} ${args.join(" ")} failed (${signal ?? `exit ${String(code)}`}); see its output above`));
    });
  });
}

/** Build directories of processes that are gone: an interrupted build's leftovers. */
async function removeAbandonedBuilds(parent: string): Promise<void> {
  for (const name of await readdir(parent)) {
    const pid = /^\.build-[0-9a-f]+-(\d+)$/.exec(name)?.[1];
    if (pid === undefined) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      await rm(join(parent, name), { recursive: true, force: true });
    }
  }
}

/**
 * Returns the node VM image for the pinned Kubernetes version, building it
 * first when the cache has none for these inputs (a few minutes; kubelet and
 * kubeadm are cached on their own). The build runs in a temp directory renamed
 * into place at the end, so an interrupted one never looks complete.
 */
export async function ensureNodeVmImage(options: { cacheRoot: string; logger: Logger; kubernetesVersion?: string }): Promise<BuiltNodeVmImage> {
  const { cacheRoot, logger } = options;
  const kubernetesVersion = options.kubernetesVersion ?? CONTROL_PLANE_VERSIONS.kubernetes;
  const key = imageKey(await nodeVmImageInputs(kubernetesVersion));
  const image = nodeVmImagePaths(cacheRoot, key);
  if (await exists(image.directory)) return image;

  await checkNodeVmImagePrerequisites();
  const parent = join(cacheRoot, "node-vm-image");
  await mkdir(parent, { recursive: true });
  await removeAbandonedBuilds(parent);
  const work = join(parent, `.build-${key}-${String(process.pid)}`);
  await mkdir(work);
  const started = performance.now();
  const stage = async (name: string, run: () => Promise<unknown>) => {
    const stageStarted = performance.now();
    logger.info({ stage: name }, `node VM image: ${name}`);
    await run();
    const seconds = (at: number) => Math.round((performance.now() - at) / 1000);
    logger.info({ stage: name, seconds: seconds(stageStarted), totalSeconds: seconds(started) }, `node VM image: ${name} done`);
  };

  logger.info({ key, directory: image.directory }, "building the node VM image (first run only, a few minutes)");
  try {
    const binaries = nodeBinaryDirectory(cacheRoot, kubernetesVersion);
    const built = await Promise.all(NODE_BINARIES.map((binary) => exists(join(binaries, binary))));
    if (!built.every(Boolean)) {
      await stage("kubelet and kubeadm", () =>
        runScript(BINARIES_SCRIPT, [], { COMPONENTS: "kubernetes", KUBERNETES_COMMANDS: NODE_BINARIES.join(" "), KUBERNETES_VERSION: kubernetesVersion, OUT_DIR: binaries }),
      );
    }
    const rootfs = join(work, "rootfs");
    const pause = join(work, "pause");
    const out = join(work, "out");
    await stage("rootfs", () => runScript(BUILD_SCRIPT, ["rootfs", rootfs], { NODE_BINARIES: binaries }));
    await stage("pause", () => runScript(BUILD_SCRIPT, ["pause", pause], { KUBERNETES_VERSION: kubernetesVersion }));
    await stage("preloaded images", async () => {
      logger.info({ images: await writePreloadImages(rootfs, pause) }, "node VM image: images written");
    });
    await stage("disk", () => runScript(BUILD_SCRIPT, ["disk", rootfs, out], {}));
    await rename(out, image.directory).catch(async (error: unknown) => {
      // Another build of the same inputs finished first: its image is as good as ours.
      if (!(await exists(image.directory))) throw error;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  logger.info({ ...image, seconds: Math.round((performance.now() - started) / 1000) }, "node VM image ready");
  return image;
}
