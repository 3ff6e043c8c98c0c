#!/usr/bin/env node
import type { Command } from "./command.ts";
import { controllerCommand } from "./controller.ts";
import { devCommand } from "./dev.ts";
import { doctorCommand } from "./doctor.ts";
import { installCommand, uninstallCommand } from "./install.ts";
import { runProgram } from "./program.ts";
import { statusCommand } from "./status.ts";
import { webhookCommand } from "./webhook.ts";

const COMMANDS: readonly Command[] = [controllerCommand, webhookCommand, installCommand, uninstallCommand, statusCommand, doctorCommand, devCommand];

await runProgram("maroonedpods", COMMANDS, process.argv.slice(2));
