import { createConnection } from "node:net";

/**
 * Runs one QMP command on QEMU's monitor socket: greeting, qmp_capabilities, the command; resolves with its
 * `return`. Asynchronous events between the replies are skipped.
 */
export function qmpExecute(socketPath: string, command: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const timer = setTimeout(() => { finish(new Error(`QMP ${command} on ${socketPath}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
    let buffered = "";
    let stage: "greeting" | "capabilities" | "command" = "greeting";
    const finish = (error: Error | undefined, value?: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.setEncoding("utf8");
    socket.on("error", (error) => { finish(new Error(`QMP ${command} on ${socketPath}: ${error.message}`)); });
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line === "") continue;
        const message = JSON.parse(line) as { QMP?: unknown; event?: string; return?: unknown; error?: { desc?: string } };
        if (message.event !== undefined) continue;
        if (message.error) { finish(new Error(`QMP ${command}: ${message.error.desc ?? JSON.stringify(message.error)}`)); return; }
        if (stage === "greeting" && message.QMP !== undefined) {
          stage = "capabilities";
          socket.write(`${JSON.stringify({ execute: "qmp_capabilities" })}\n`);
        } else if (stage === "capabilities" && "return" in message) {
          stage = "command";
          socket.write(`${JSON.stringify({ execute: command })}\n`);
        } else if (stage === "command" && "return" in message) {
          finish(undefined, message.return); return;
        }
      }
    });
  });
}
