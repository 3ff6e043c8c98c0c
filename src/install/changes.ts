import { isRecord } from "../util/guards.ts";

/** What an apply did (or, dry run, would do) to one object. */
export type Change = "created" | "configured" | "unchanged";

/** Written by the API server, not by the manifest: never a difference worth reporting. */
const SERVER_OWNED_METADATA = new Set(["managedFields", "resourceVersion", "generation", "creationTimestamp", "uid"]);

/** A JSON object to descend into: typed client objects carry Dates, which compare as values. */
const isObjectNode = (value: unknown): value is Record<string, unknown> => isRecord(value) && !(value instanceof Date);

/** The paths (`spec.template.spec.containers`) where two objects differ, ignoring status and server-owned metadata. */
export function changedPaths(before: unknown, after: unknown, path: string[] = []): string[] {
  if (path.length === 1 && path[0] === "status") return [];
  if (path.length === 2 && path[0] === "metadata" && SERVER_OWNED_METADATA.has(path[1] ?? "")) return [];
  if (isObjectNode(before) && isObjectNode(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedPaths(before[key], after[key], [...path, key]));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path.join(".") || "(object)"];
}

export function changeOf(before: unknown, after: unknown): Change {
  if (before === undefined) return "created";
  return changedPaths(before, after).length > 0 ? "configured" : "unchanged";
}

/** `kind/namespace/name`, as the report and errors name an object. */
export function objectRef(object: { kind?: string; metadata?: { name?: string; namespace?: string } }): string {
  const { name = "", namespace } = object.metadata ?? {};
  return `${(object.kind ?? "").toLowerCase()}/${namespace ? `${namespace}/` : ""}${name}`;
}
