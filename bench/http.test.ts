import { createServer, type Server } from "node:http";
import { Agent, createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate } from "../src/pki/certificates.ts";
import { getText, sendHttps } from "./http.ts";

describe("getText", () => {
  let server: Server;
  let base = "";
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/silent") return; // never answers: afterAll closes the socket
      if (req.url === "/metrics") res.end("up 1\n");
      else res.writeHead(404).end("no");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("resolves with the body of a 200", async () => {
    await expect(getText(`${base}/metrics`, 5_000)).resolves.toBe("up 1\n");
  });
  it("rejects any other status", async () => {
    await expect(getText(`${base}/nope`, 5_000)).rejects.toThrow(`GET ${base}/nope: HTTP 404`);
  });
  it("rejects when nothing answers in time", async () => {
    await expect(getText(`${base}/silent`, 100)).rejects.toThrow("no answer within 0.1 s");
  });
});

describe("sendHttps", () => {
  let server: HttpsServer;
  let agent: Agent;
  let port = 0;
  beforeAll(async () => {
    const ca = await createCertificateAuthority("bench-http-test-ca", 1);
    const serving = await issueCertificate(ca, { commonName: "127.0.0.1", ipAddresses: ["127.0.0.1"], usage: "server", validForDays: 1 });
    server = createHttpsServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      if (req.url === "/silent") return;
      if (Number(req.headers["content-length"]) > 10) {
        res.writeHead(413, { connection: "close" }).end("too large");
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => res.writeHead(201).end(`got ${Buffer.concat(chunks).toString("utf8")}`));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    agent = new Agent({ keepAlive: true, ca: ca.certPem });
  });
  afterAll(() => {
    agent.destroy();
    server.closeAllConnections();
    server.close();
  });
  const options = (path: string, length: number) => ({ host: "127.0.0.1", port, path, method: "POST", agent, headers: { "content-length": length } });

  it("resolves with any status and the body", async () => {
    await expect(sendHttps(options("/", 2), "hi", 5_000)).resolves.toEqual({ status: 201, body: "got hi" });
  });
  it("sends the headers alone without a body, and reads the early answer", async () => {
    await expect(sendHttps(options("/", 10_000_000), undefined, 5_000)).resolves.toEqual({ status: 413, body: "too large" });
  });
  it("rejects when nothing answers in time", async () => {
    await expect(sendHttps(options("/silent", 2), "hi", 100)).rejects.toThrow("POST /silent: no answer within 0.1 s");
  });
});
