import { parse } from "yaml";

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
