/** The command line every benchmark shares: flags only, one line on a bad flag, and the exit codes. */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../src/cli/command.ts";

/** parseArgs for flags without positionals; its complaints (unknown flag, missing value) become a UsageError of their first line. */
export function parseFlags<const T extends ParseArgsOptionsConfig>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error instanceof Error ? error.message : String(error)).split("\n")[0]);
  }
}

export interface Benchmark<Options> {
  /** The npm script, as messages name it. */
  readonly name: string;
  readonly help: string;
  /** The options, or "help" for --help; throws UsageError on bad flags. */
  parse(argv: readonly string[]): Options | "help";
  /** Resolves to the exit code. */
  run(options: Options): Promise<number>;
}

/** Resolves to the exit code: 2 with one line on bad flags, 0 after --help, 1 with the message when the run throws, else the run's own. */
export async function runBenchmark<Options>(benchmark: Benchmark<Options>, argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = benchmark.parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${benchmark.name}: ${error.message} (see --help)\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(benchmark.help);
    return 0;
  }
  try {
    return await benchmark.run(options);
  } catch (error) {
    process.stderr.write(`${benchmark.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** A positive decimal such as 2 or 0.5, written plainly (no 1e3, no leading sign). */
export function positiveDecimalFlag(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a positive number`);
  return value;
}
