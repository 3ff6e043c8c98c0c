import type { ParseArgsConfig } from "node:util";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string] & { readonly description: string; readonly valueName?: string };

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Arguments after the flags, e.g. `[POD]`; a command without this takes none. */
  readonly positionals?: { readonly usage: string; readonly max: number };
  /** Resolves to the process exit code. */
  run(values: Readonly<Record<string, string | boolean | undefined>>, positionals: readonly string[]): Promise<number>;
}

/** Thrown for bad flags or values: the CLI prints its message on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function commandHelp(program: string, command: Command): string {
  const lines = [`Usage: ${program} ${command.name} [flags]${command.positionals ? ` ${command.positionals.usage}` : ""}`, "", command.description, "", "Flags:"];
  const help: OptionSpec = { type: "boolean", description: "show this help" };
  const entries = Object.entries({ ...command.options, help });
  const rendered = entries.map(([name, spec]) => {
    const value = spec.type === "string" ? ` ${spec.valueName ?? "VALUE"}` : "";
    const fallback = spec.default !== undefined && spec.type === "string" ? ` (default ${JSON.stringify(spec.default)})` : "";
    return [`  --${name}${value}`, `${spec.description}${fallback}`] as const;
  });
  const width = Math.max(...rendered.map(([flag]) => flag.length)) + 2;
  for (const [flag, description] of rendered) lines.push(`${flag.padEnd(width)}${description}`);
  return lines.join("\n");
}

/** A whole number of at least `min`, written as digits only (no 1e3, no 0x10). */
export function integerFlag(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not an integer >= ${String(min)}`);
  return value;
}

export function booleanFlag(flag: string, text: string): boolean {
  if (text === "true" || text === "false") return text === "true";
  throw new UsageError(`--${flag}: must be true or false`);
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a positive duration such as 15s, 500ms, 2m or 8760h into milliseconds. */
export function parseDurationMs(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a duration like 500ms, 15s, 2m or 8760h`);
  return Math.round(Number(match[1]) * (DURATION_UNIT_MS[match[2] ?? ""] ?? 0));
}
