import { execFile } from "node:child_process";
import { PREREQUISITES_FIX } from "./constants.ts";

/** Runs a host tool to completion; the error names the command and carries its stderr, or the install fix if it is missing. */
export function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: "utf8" }, (error, stdout, stderr) => {
      if (!error) { resolve(stdout); return; }
      if ((error as NodeJS.ErrnoException).code === "ENOENT") { reject(new Error(`${file} not found; install it: ${PREREQUISITES_FIX}`)); return; }
      reject(new Error(`${file} ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
    });
  });
}
