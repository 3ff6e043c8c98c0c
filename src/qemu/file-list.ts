/**
 * The node image's file lists (images/node/<flavor>/files.txt): lines of
 * `SOURCE DESTINATION MODE`, read by images/node/install-files.sh at build time.
 * Parsed here with the same rules, for the image's cache key and the tests.
 */

export interface FileListEntry {
  /** Relative to images/node; "-" installs nothing (the distribution's own file stays). */
  readonly source: string;
  readonly destination: string;
  readonly mode: number;
}

export const KEEP_DISTRIBUTION_FILE = "-";

/** Parses one list; throws naming the list and line, as the installer does. */
export function parseFileList(text: string, name: string): FileListEntry[] {
  const entries: FileListEntry[] = [];
  text.split("\n").forEach((line, index) => {
    if (/^\s*(#|$)/.test(line)) return;
    const where = `${name}:${String(index + 1)}`;
    const fields = line.trim().split(/\s+/);
    const [source, destination, mode] = fields;
    if (fields.length !== 3 || source === undefined || destination === undefined || mode === undefined) throw new Error(`${where}: want SOURCE DESTINATION MODE, got: ${line}`);
    if (!destination.startsWith("/") || destination.split("/").includes("..")) throw new Error(`${where}: destination must be absolute, without ..: ${destination}`);
    if (!/^0[0-7]{3}$/.test(mode)) throw new Error(`${where}: mode must be octal like 0644: ${mode}`);
    entries.push({ source, destination, mode: Number.parseInt(mode, 8) });
  });
  return entries;
}

/** What install-files.sh installs from lists given in order: each destination once, from the last list naming it, in first-seen order. */
export function effectiveFileList(lists: readonly (readonly FileListEntry[])[]): FileListEntry[] {
  const byDestination = new Map<string, FileListEntry>();
  for (const entry of lists.flat()) byDestination.set(entry.destination, entry);
  return [...byDestination.values()].filter((entry) => entry.source !== KEEP_DISTRIBUTION_FILE);
}
