import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import type { Logger } from "pino";

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Reads the pair and checks the key matches the certificate, so a half-written rotation is never served. */
export async function loadKeyPair(files: TlsFiles): Promise<KeyPairPem> {
  const [certPem, keyPem] = await Promise.all([readFile(files.certFile, "utf8"), readFile(files.keyFile, "utf8")]);
  createSecureContext({ cert: certPem, key: keyPem });
  return { certPem, keyPem };
}

/**
 * Polls the files and calls `onChange` with each new valid pair. Polling, not
 * fs.watch: Secret volumes are updated by swapping a symlink, which inotify on
 * the file itself does not report reliably.
 */
export function watchKeyPair(options: {
  files: TlsFiles;
  initial: KeyPairPem;
  intervalMs: number;
  logger: Logger;
  onChange: (pair: KeyPairPem) => void;
  onError: (error: unknown) => void;
}): () => void {
  let current = options.initial;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    loadKeyPair(options.files)
      .then((pair) => {
        if (pair.certPem === current.certPem && pair.keyPem === current.keyPem) return;
        current = pair;
        options.logger.info({ certFile: options.files.certFile }, "serving certificate reloaded");
        options.onChange(pair);
      })
      .catch((error: unknown) => {
        // Mid-rotation the two files can disagree for a moment; keep serving the last good pair.
        options.logger.warn({ err: error, certFile: options.files.certFile }, "could not reload the serving certificate; keeping the current one");
        options.onError(error);
      })
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
