#!/usr/bin/env node
import type { Command } from "./command.ts";
import { doctorCommand } from "./doctor.ts";
import { installCommand, uninstallCommand } from "./install.ts";
import { runProgram } from "./program.ts";
import { statusCommand } from "./status.ts";

/**
 * `kubectl maroonedpods ...`: kubectl runs any `kubectl-<name>` executable on
 * PATH as the plugin `<name>`, passing the rest of the command line. The
 * commands a cluster's user needs; the servers stay `maroonedpods controller|webhook`.
 */
export const PLUGIN_COMMANDS: readonly Command[] = [statusCommand, doctorCommand, installCommand, uninstallCommand];

await runProgram("kubectl maroonedpods", PLUGIN_COMMANDS, process.argv.slice(2));
