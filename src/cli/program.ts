import { parseArgs } from "node:util";
import { commandHelp, UsageError, type Command } from "./command.ts";

function programHelp(program: string, commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    `Usage: ${program} <command> [flags]`,
    "",
    "Runs each selected Kubernetes pod on its own short-lived KubeVirt VM node.",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    `Run '${program} <command> --help' for a command's flags.`,
  ].join("\n");
}

/** Parses argv for one of `commands` and runs it; resolves to its exit code. */
export async function main(program: string, commands: readonly Command[], argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${programHelp(program, commands)}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands: ${commands.map((c) => c.name).join(", ")}`);
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: command.positionals !== undefined,
    }));
  } catch (error) {
    throw new UsageError(`${command.name}: ${(error as Error).message.split("\n")[0] ?? ""}`);
  }
  if (positionals.length > (command.positionals?.max ?? 0)) throw new UsageError(`${command.name}: too many arguments: ${positionals.join(" ")}`);
  if (values.help) {
    process.stdout.write(`${commandHelp(program, command)}\n`);
    return 0;
  }
  return command.run(values, positionals);
}

/** The message with its causes: fetch reports "fetch failed" and keeps the reason (ECONNREFUSED, a TLS error) in `cause`. */
function describeError(error: unknown): string {
  const messages: string[] = [];
  for (let current: unknown = error; current !== undefined && messages.length < 5; current = current instanceof Error ? current.cause : undefined) {
    messages.push(current instanceof Error ? current.message : typeof current === "string" ? current : JSON.stringify(current));
  }
  return messages.join(": ");
}

/**
 * Runs `program` as the process: exit code 2 and one line on a usage error, 1
 * and the error with its causes on any other.
 */
export async function runProgram(program: string, commands: readonly Command[], argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await main(program, commands, argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${program}: ${error.message} (see '${program} --help')\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`${program}: ${describeError(error)}\n`);
      process.exitCode = 1;
    }
  }
}
