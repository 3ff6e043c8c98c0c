import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SANDBOX_IMAGE, SHELL_IMAGE } from "./images.ts";
import { ociImageLayout, type OciImage, type TarEntry } from "./oci-image.ts";

/** Where the image tar sits in the VM's root; marooned-preload-images.service imports every tar there. */
export const PRELOAD_DIRECTORY = "/usr/share/marooned/images";

/** The busybox applets the shell image links, enough for test pods' commands and probes. */
export const SHELL_APPLETS = [
  "sh", "ash", "cat", "cp", "date", "echo", "env", "false", "grep", "head", "hostname", "id", "ls", "mkdir", "mv",
  "nc", "printf", "ps", "pwd", "rm", "sed", "sleep", "tail", "tee", "test", "touch", "true", "uname", "wc", "wget",
] as const;

/** The pause binary compiled from the Kubernetes source, as upstream's image runs it (as nobody). */
export function sandboxImage(pause: Buffer): OciImage {
  return { name: SANDBOX_IMAGE, layer: [{ type: "file", path: "pause", mode: 0o755, content: pause }], entrypoint: ["/pause"], user: "65535:65535" };
}

/** Debian's static busybox with a link per applet, a /tmp, and sh as its command. */
export function shellImage(busybox: Buffer): OciImage {
  const layer: TarEntry[] = [
    { type: "directory", path: "bin", mode: 0o755 },
    { type: "file", path: "bin/busybox", mode: 0o755, content: busybox },
    ...SHELL_APPLETS.map((applet): TarEntry => ({ type: "symlink", path: `bin/${applet}`, target: "busybox" })),
    { type: "directory", path: "tmp", mode: 0o1777 },
  ];
  return { name: SHELL_IMAGE, layer, cmd: ["sh"] };
}

/** Writes both images, as one tar, into the VM's root: the pause binary from the build, busybox from the root's own busybox-static. */
export async function writePreloadImages(rootfs: string, pauseBinary: string): Promise<string[]> {
  const directory = join(rootfs, PRELOAD_DIRECTORY);
  await mkdir(directory, { recursive: true });
  const images = [sandboxImage(await readFile(pauseBinary)), shellImage(await readFile(join(rootfs, "bin/busybox")))];
  await writeFile(join(directory, "preload.tar"), ociImageLayout(images));
  return images.map((image) => image.name);
}
