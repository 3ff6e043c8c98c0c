import type { Logger } from "pino";

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "shutting down");
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/**
 * Prints the ready line on stdout, then resolves on the first SIGINT or SIGTERM.
 * The handlers go in before the line goes out: a supervisor may signal the
 * moment it reads the line, and an unhandled SIGTERM would kill instead of stop.
 */
export async function announceReadyUntilSignal(logger: Logger, readyLine: string): Promise<void> {
  const signalled = untilSignal(logger);
  process.stdout.write(`${readyLine}\n`);
  await signalled;
}
