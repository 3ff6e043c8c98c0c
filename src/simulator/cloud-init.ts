import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { parse } from "yaml";

/** Where a VMI's cloud-init user data lives: inline, or in a Secret of the VMI's namespace. */
export type UserDataSource = { kind: "inline"; userData: string } | { kind: "secret"; secretName: string } | { kind: "none" };

export function userDataSourceOf(vmi: V1VirtualMachineInstance): UserDataSource {
  for (const volume of vmi.spec.volumes ?? []) {
    const source = volume.cloudInitNoCloud ?? volume.cloudInitConfigDrive;
    if (!source) continue;
    const secretName = source.secretRef?.name;
    if (secretName) return { kind: "secret", secretName };
    if (source.userData) return { kind: "inline", userData: source.userData };
    if (source.userDataBase64) return { kind: "inline", userData: Buffer.from(source.userDataBase64, "base64").toString("utf8") };
  }
  return { kind: "none" };
}

/** KubeVirt reads the user data from these Secret keys, in this order. */
export const USER_DATA_SECRET_KEYS = ["userdata", "userData"] as const;

export function userDataFromSecret(data: Readonly<Record<string, string>> | undefined): string | undefined {
  for (const key of USER_DATA_SECRET_KEYS) {
    const encoded = data?.[key];
    if (encoded !== undefined) return Buffer.from(encoded, "base64").toString("utf8");
  }
  return undefined;
}

/**
 * What cloud-init's write_files would put at `path`, or an error that says why
 * the guest would not get it.
 */
export function writtenFileContent(userData: string, path: string): { ok: true; content: string } | { ok: false; error: string } {
  if (!userData.startsWith("#cloud-config")) return { ok: false, error: "user data is not #cloud-config" };
  let doc: unknown;
  try {
    doc = parse(userData);
  } catch (error) {
    return { ok: false, error: `user data is not valid YAML: ${(error as Error).message.split("\n")[0] ?? ""}` };
  }
  const files = (doc as { write_files?: unknown } | null)?.write_files;
  if (!Array.isArray(files)) return { ok: false, error: "user data has no write_files" };
  const entry = (files as unknown[]).find((f): f is { path: string; content?: unknown; encoding?: unknown } =>
    typeof f === "object" && f !== null && (f as { path?: unknown }).path === path);
  if (!entry) return { ok: false, error: `write_files has no entry for ${path}` };
  if (typeof entry.content !== "string") return { ok: false, error: `write_files entry for ${path} has no content` };
  switch (entry.encoding) {
    case undefined:
    case "text/plain":
      return { ok: true, content: entry.content };
    case "b64":
    case "base64":
      return { ok: true, content: Buffer.from(entry.content, "base64").toString("utf8") };
    default:
      return { ok: false, error: `write_files entry for ${path} has unsupported encoding ${JSON.stringify(entry.encoding)}` };
  }
}
