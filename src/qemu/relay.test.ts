import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startTcpToUnixRelay, startUnixToTcpRelay } from "./relay.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP server that answers each line with it upper-cased. */
async function upperCaseServer(): Promise<number> {
  const server: Server = createServer((socket) => socket.on("data", (data) => socket.write(data.toString().toUpperCase())));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, "127.0.0.1", () => socket.write(text));
    socket.on("data", (data) => {
      resolve(data.toString());
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("TCP <-> unix socket relays", () => {
  it("carry bytes both ways through a unix socket, as across two network namespaces", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-test-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const target = await upperCaseServer();
    const socketPath = join(dir, "api.sock");
    const unixSide = await startUnixToTcpRelay({ socketPath, host: "127.0.0.1", port: target });
    cleanups.push(() => unixSide.stop());
    const tcpSide = await startTcpToUnixRelay({ host: "127.0.0.1", port: 0, socketPath });
    cleanups.push(() => tcpSide.stop());
    expect(tcpSide.listening.port).toBeGreaterThan(0);
    expect(await ask(tcpSide.listening.port, "hello")).toBe("HELLO");
    expect(await ask(tcpSide.listening.port, "again")).toBe("AGAIN");
  });

  it("closes the client's connection when the target is not there", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-test-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const relay = await startTcpToUnixRelay({ host: "127.0.0.1", port: 0, socketPath: join(dir, "nobody.sock") });
    cleanups.push(() => relay.stop());
    const closed = await new Promise<boolean>((resolve) => {
      const socket = createConnection(relay.listening.port, "127.0.0.1");
      socket.on("close", () => { resolve(true); });
      socket.on("error", () => undefined);
    });
    expect(closed).toBe(true);
  });

  it("replaces a stale socket file and removes its own on stop", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-test-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const socketPath = join(dir, "api.sock");
    await writeFile(socketPath, "left by a crashed relay");
    const relay = await startUnixToTcpRelay({ socketPath, host: "127.0.0.1", port: 1 });
    expect(existsSync(socketPath)).toBe(true);
    await relay.stop();
    expect(existsSync(socketPath)).toBe(false);
  });
});
