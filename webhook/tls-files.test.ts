import { writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createCertificateAuthority, issueCertificate, type IssuedCertificate } from "../src/pki/certificates.ts";
import { loadKeyPair, watchKeyPair, type KeyPairPem, type TlsFiles } from "./tls-files.ts";

// The real readFile, wrapped so the tests can count polls and wait for in-flight ones
// instead of guessing with sleeps how many intervals have gone by.
const inFlight = vi.hoisted(() => new Set<Promise<unknown>>());
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  const tracked = (...args: Parameters<typeof actual.readFile>): ReturnType<typeof actual.readFile> => {
    const read = actual.readFile(...args);
    inFlight.add(read);
    void read.finally(() => inFlight.delete(read)).catch(() => undefined);
    return read;
  };
  return { ...actual, readFile: vi.fn(tracked) };
});

const INTERVAL_MS = 20;
const WAIT = { timeout: 3_000, interval: 5 };
const logger = pino({ level: "silent" });

let ca: IssuedCertificate;
let first: IssuedCertificate;
let second: IssuedCertificate;
let third: IssuedCertificate;

beforeAll(async () => {
  ca = await createCertificateAuthority("tls-files-test-ca", 1);
  const issue = (commonName: string) => issueCertificate(ca, { commonName, ipAddresses: ["127.0.0.1"], usage: "server", validForDays: 1 });
  [first, second, third] = await Promise.all([issue("first"), issue("second"), issue("third")]);
});

let dir: string;
let files: TlsFiles;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tls-files-test-"));
  files = { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Both files in one synchronous step, so no poll of this process starts between the two writes. */
function writePair(cert: IssuedCertificate, key: IssuedCertificate = cert): void {
  writeFileSync(files.certFile, cert.certPem);
  writeFileSync(files.keyFile, key.keyPem);
}

const pemOf = (issued: IssuedCertificate): KeyPairPem => ({ certPem: issued.certPem, keyPem: issued.keyPem });

/** How many polls have started: each reads the certificate file once. */
function pollsStarted(): number {
  return vi.mocked(readFile).mock.calls.filter(([path]) => path === files.certFile).length;
}

/**
 * Resolves once a poll that started after this call has finished. Polls never
 * overlap, so when the second one from now starts the first has settled.
 */
async function nextPollCompleted(): Promise<void> {
  const start = pollsStarted();
  await vi.waitFor(() => {
    expect(pollsStarted()).toBeGreaterThanOrEqual(start + 2);
  }, WAIT);
}

/** Waits out any read already under way, then one macrotask so the watcher's callbacks have run too. */
async function settled(): Promise<void> {
  await Promise.allSettled([...inFlight]);
  await new Promise((resolve) => setImmediate(resolve));
}

function startWatching(initial: KeyPairPem) {
  const onChange = vi.fn<(pair: KeyPairPem) => void>();
  const onError = vi.fn<(error: unknown) => void>();
  const stop = watchKeyPair({ files, initial, intervalMs: INTERVAL_MS, logger, onChange, onError });
  return { onChange, onError, stop };
}

describe("loadKeyPair", () => {
  it("returns the files' contents when the key matches the certificate", async () => {
    writePair(first);
    await expect(loadKeyPair(files)).resolves.toEqual(pemOf(first));
  });

  it("rejects a key that belongs to another certificate", async () => {
    writePair(first, second);
    await expect(loadKeyPair(files)).rejects.toThrow(/mismatch/i);
  });

  it("rejects when a file is missing", async () => {
    writeFileSync(files.certFile, first.certPem);
    await expect(loadKeyPair(files)).rejects.toThrow(/ENOENT/);
  });
});

describe("watchKeyPair", () => {
  it("calls onChange once with the new pair after both files are rewritten", async () => {
    writePair(first);
    const watcher = startWatching(pemOf(first));
    try {
      writePair(second);
      await vi.waitFor(() => {
        expect(watcher.onChange).toHaveBeenCalled();
      }, WAIT);
      // Later polls see the same pair again and must stay quiet.
      await nextPollCompleted();
      await nextPollCompleted();
      expect(watcher.onChange).toHaveBeenCalledTimes(1);
      expect(watcher.onChange).toHaveBeenCalledWith(pemOf(second));
      // onError is not checked: a poll already reading when the files were rewritten may see one old, one new.
    } finally {
      watcher.stop();
    }
  });

  it("calls neither callback while the files stay the same", async () => {
    writePair(first);
    const watcher = startWatching(pemOf(first));
    try {
      await nextPollCompleted();
      await nextPollCompleted();
      await nextPollCompleted();
      expect(watcher.onChange).not.toHaveBeenCalled();
      expect(watcher.onError).not.toHaveBeenCalled();
    } finally {
      watcher.stop();
    }
  });

  it("reports a key that does not match the certificate, keeps quiet on onChange, and recovers on a matching pair", async () => {
    writePair(first);
    const watcher = startWatching(pemOf(first));
    try {
      writeFileSync(files.keyFile, second.keyPem);
      await vi.waitFor(() => {
        expect(watcher.onError).toHaveBeenCalled();
      }, WAIT);
      expect(watcher.onError.mock.calls[0]?.[0]).toBeInstanceOf(Error);
      expect(watcher.onChange).not.toHaveBeenCalled();

      writePair(third);
      await vi.waitFor(() => {
        expect(watcher.onChange).toHaveBeenCalled();
      }, WAIT);
      const errorsAfterRecovery = watcher.onError.mock.calls.length;
      await nextPollCompleted();
      expect(watcher.onChange).toHaveBeenCalledTimes(1);
      expect(watcher.onChange).toHaveBeenCalledWith(pemOf(third));
      expect(watcher.onError).toHaveBeenCalledTimes(errorsAfterRecovery);
    } finally {
      watcher.stop();
    }
  });

  it("stops polling once the returned function is called", async () => {
    writePair(first);
    const watcher = startWatching(pemOf(first));
    try {
      await nextPollCompleted();
      watcher.stop();
      await settled();
      const pollsAtStop = pollsStarted();

      writePair(second);
      // Proving that nothing happens needs some time to pass: ten intervals.
      await new Promise((resolve) => setTimeout(resolve, 10 * INTERVAL_MS));
      expect(pollsStarted()).toBe(pollsAtStop);
      expect(watcher.onChange).not.toHaveBeenCalled();
      expect(watcher.onError).not.toHaveBeenCalled();
    } finally {
      watcher.stop();
    }
  });
});
