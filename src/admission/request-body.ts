import type { Readable } from "node:stream";

/** True for `application/json`, with or without parameters such as `; charset=utf-8`. */
export function isJsonContentType(header: string | undefined): boolean {
  const mediaType = header?.split(";", 1)[0]?.trim().toLowerCase();
  return mediaType === "application/json";
}

/** True when a Content-Length header announces more than `maxBytes`, so the body need not be read at all. */
export function declaresMoreThan(contentLength: string | undefined, maxBytes: number): boolean {
  return contentLength !== undefined && Number(contentLength) > maxBytes;
}

export type BodyRead = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly reason: "too-large" };

/**
 * Collects a stream of at most `maxBytes`. Past the limit it stops reading and
 * pauses the stream rather than destroying it, so the caller can still answer
 * on the same connection. Rejects if the stream fails or closes early; events
 * after the promise has settled are ignored.
 */
export function readBodyUpTo(stream: Readable, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      stream.off("data", onData).pause();
      resolve({ ok: false, reason: "too-large" });
    };
    stream.on("data", onData);
    stream.on("end", () => {
      resolve({ ok: true, body: Buffer.concat(chunks, size) });
    });
    stream.on("error", reject);
    stream.on("close", () => {
      reject(new Error(`stream closed after ${size} bytes, before its end`));
    });
  });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS: ReadonlySet<number> = new Set([0x5b, 0x7b]); // [ {
const CLOSERS: ReadonlySet<number> = new Set([0x5d, 0x7d]); // ] }

/**
 * True when JSON text nests arrays and objects more than `maxDepth` levels deep, brackets inside strings aside.
 * A byte scan, no parse (UTF-8 continuation bytes never equal these ASCII ones): it runs before JSON.parse, so
 * that nothing after it (structuredClone, a JSON Patch diff) recurses deep enough to exhaust the stack.
 */
export function nestsDeeperThan(body: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i] ?? 0;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (OPENERS.has(byte)) {
      if (++depth > maxDepth) return true;
    } else if (CLOSERS.has(byte)) {
      depth--;
    }
  }
  return false;
}
