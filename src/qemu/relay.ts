import { rm } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * Byte relays between TCP and a unix socket. A unix socket is a file, so it is reachable across network
 * namespaces: a relay on each side joins a TCP server in one namespace to clients in another.
 */
export interface Relay {
  /** The TCP port or socket path it listens on. */
  readonly listening: { host: string; port: number } | { socketPath: string };
  stop(): Promise<void>;
}

/** Each accepted connection is piped to a new connection to the target; either side closing or failing ends both. */
function relayConnections(server: Server, connectTarget: () => Socket, sockets: Set<Socket>): void {
  server.on("connection", (client) => {
    const target = connectTarget();
    for (const socket of [client, target]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        target.destroy();
      });
    }
    client.pipe(target);
    target.pipe(client);
  });
}

function listen(server: Server, at: { port: number; host: string } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(at, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function stopper(server: Server, sockets: Set<Socket>, after: () => Promise<void> = () => Promise.resolve()) {
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    await after();
  };
}

/** Listens on TCP `host:port` (port 0: any free one) and relays each connection to the unix socket at `socketPath`. */
export async function startTcpToUnixRelay(options: { host: string; port: number; socketPath: string }): Promise<Relay & { listening: { host: string; port: number } }> {
  const sockets = new Set<Socket>();
  const server = createServer();
  relayConnections(server, () => createConnection(options.socketPath), sockets);
  await listen(server, { port: options.port, host: options.host });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return { listening: { host: options.host, port }, stop: stopper(server, sockets) };
}

/** Listens on a unix socket at `socketPath` (a stale file there is replaced) and relays each connection to TCP `host:port`. */
export async function startUnixToTcpRelay(options: { socketPath: string; host: string; port: number }): Promise<Relay & { listening: { socketPath: string } }> {
  const sockets = new Set<Socket>();
  const server = createServer();
  relayConnections(server, () => createConnection(options.port, options.host), sockets);
  await rm(options.socketPath, { force: true });
  await listen(server, { path: options.socketPath });
  return { listening: { socketPath: options.socketPath }, stop: stopper(server, sockets, () => rm(options.socketPath, { force: true })) };
}
