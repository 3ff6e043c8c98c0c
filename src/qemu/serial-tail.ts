import { open, type FileHandle } from "node:fs/promises";

export interface SerialTail {
  stop(): Promise<void>;
}

/**
 * Reads what QEMU appends to a serial log, every `intervalMs`, and hands each new chunk on. Polling, not fs.watch:
 * QEMU creates the file itself, and a poll of a local file is cheap.
 */
export function tailSerialLog(path: string, options: { intervalMs: number; onChunk: (chunk: string) => void }): SerialTail {
  let handle: FileHandle | undefined;
  let offset = 0;
  let stopped = false;
  const buffer = Buffer.alloc(64 * 1024);
  const readNew = async () => {
    handle ??= await open(path, "r").catch(() => undefined);
    if (!handle) return;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      options.onChunk(buffer.toString("utf8", 0, bytesRead));
    }
  };
  let pending: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    pending = pending.then(() => (stopped ? undefined : readNew())).catch(() => undefined);
  }, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      // What the VM wrote last (a panic, a failure) is read before the log is let go.
      await readNew().catch(() => undefined);
      stopped = true;
      await handle?.close();
    },
  };
}
