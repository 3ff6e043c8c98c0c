/**
 * The image's program: the two commands its Deployments run, which `npm run build` bundles into one file. Without
 * the other commands' modules, and as plain JavaScript, it takes less memory than the sources under type stripping.
 */
import { controllerCommand } from "./controller.ts";
import { runProgram } from "./program.ts";
import { webhookCommand } from "./webhook.ts";

await runProgram("maroonedpods", [controllerCommand, webhookCommand], process.argv.slice(2));
