#!/usr/bin/env node
import { parseArgs } from "node:util";
import { commandHelp, UsageError, type Command } from "./command.ts";
import { controllerCommand } from "./controller.ts";
import { devCommand } from "./dev.ts";
import { doctorCommand } from "./doctor.ts";
import { installCommand, uninstallCommand } from "./install.ts";
import { statusCommand } from "./status.ts";
import { webhookCommand } from "./webhook.ts";

const PROGRAM = "maroonedpods";
const COMMANDS: readonly Command[] = [controllerCommand, webhookCommand, installCommand, uninstallCommand, statusCommand, doctorCommand, devCommand];

function programHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `Usage: ${PROGRAM} <command> [flags]`,
    "",
    "Runs each selected Kubernetes pod on its own short-lived KubeVirt VM node.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    `Run '${PROGRAM} <command> --help' for a command's flags.`,
  ].join("\n");
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${programHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
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
    process.stdout.write(`${commandHelp(PROGRAM, command)}\n`);
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

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`${PROGRAM}: ${error.message} (see '${PROGRAM} --help')\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`${PROGRAM}: ${describeError(error)}\n`);
    process.exitCode = 1;
  }
}
