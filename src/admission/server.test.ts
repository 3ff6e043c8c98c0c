import { once } from "node:events";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";
import { connect as tlsConnect } from "node:tls";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate } from "../pki/certificates.ts";
import type { IssuedCertificate } from "../pki/certificates.ts";
import { allowed, denied, patched } from "./review.ts";
import type { AdmissionOperation } from "./review.ts";
import { startAdmissionServer } from "./server.ts";
import type { AdmissionHandler, AdmissionServer, AdmissionServerOptions } from "./server.ts";

const MAX_BODY_BYTES = 4096;

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface RequestOptions {
  readonly ca: string;
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
}

/** One request on a fresh connection, so no test sees another's TLS session or keep-alive socket. */
function send(url: string, options: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: options.method ?? "POST", headers: options.headers, ca: options.ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

function reviewOf(uid: string, operation: AdmissionOperation = "CREATE"): Record<string, unknown> {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "kubevirt.io", version: "v1", kind: "VirtualMachineInstance" },
      resource: { group: "kubevirt.io", version: "v1", resource: "virtualmachineinstances" },
      operation,
      namespace: "default",
      name: "vmi-1",
      object: { metadata: { name: "vmi-1" } },
      userInfo: { username: "admin" },
    },
  };
}

function postJson(url: string, ca: string, body: unknown): Promise<Reply> {
  return send(url, { ca, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

const handlers: Record<string, AdmissionHandler> = {
  "/validate": (request) => (request.operation === "DELETE" ? denied(request.uid, "VMIs are not deleted here") : allowed(request.uid)),
  "/mutate": (request) => patched(request.uid, [{ op: "add", path: "/metadata/labels", value: { simulated: "true" } }]),
  "/throws": () => {
    throw new Error("handler bug");
  },
  "/rejects": () => Promise.reject(new Error("lookup failed")),
  "/wrong-uid": () => allowed("another-request"),
};

async function serverCertificate(ca: IssuedCertificate): Promise<IssuedCertificate> {
  return issueCertificate(ca, { commonName: "admission-webhook", ipAddresses: ["127.0.0.1"], usage: "server", validForDays: 1 });
}

async function startOnLoopback(ca: IssuedCertificate, overrides: Partial<AdmissionServerOptions> = {}): Promise<AdmissionServer> {
  const cert = await serverCertificate(ca);
  return startAdmissionServer({
    host: "127.0.0.1",
    port: 0,
    tls: { certPem: cert.certPem, keyPem: cert.keyPem },
    handlers,
    logger: pino({ level: "silent" }),
    maxBodyBytes: MAX_BODY_BYTES,
    ...overrides,
  });
}

describe("admission server", () => {
  let ca: IssuedCertificate;
  let server: AdmissionServer;

  beforeAll(async () => {
    ca = await createCertificateAuthority("admission-test-ca", 1);
    server = await startOnLoopback(ca);
  });

  afterAll(async () => {
    await server.close();
  });

  describe("answering reviews", () => {
    it("allows, echoing the uid, when the API server adds its timeout query and a charset", async () => {
      const reply = await send(server.url("/validate?timeout=10s"), {
        ca: ca.certPem,
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify(reviewOf("uid-allow")),
      });
      expect(reply.status).toBe(200);
      expect(reply.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(reply.body)).toEqual(allowed("uid-allow"));
    });

    it("passes the parsed request to the handler, which may deny", async () => {
      const reply = await postJson(server.url("/validate"), ca.certPem, reviewOf("uid-deny", "DELETE"));
      expect(JSON.parse(reply.body)).toEqual(denied("uid-deny", "VMIs are not deleted here"));
    });

    it("returns a handler's JSON patch", async () => {
      const reply = await postJson(server.url("/mutate"), ca.certPem, reviewOf("uid-patch"));
      expect(JSON.parse(reply.body)).toMatchObject({ response: { uid: "uid-patch", allowed: true, patchType: "JSONPatch" } });
    });

    it("answers health checks", async () => {
      const reply = await send(server.url("/healthz"), { ca: ca.certPem, method: "GET" });
      expect(reply).toMatchObject({ status: 200, body: "ok" });
    });
  });

  describe("rejecting requests", () => {
    it("answers 415 to a body that is not declared JSON", async () => {
      const reply = await send(server.url("/validate"), {
        ca: ca.certPem,
        headers: { "content-type": "text/plain" },
        body: JSON.stringify(reviewOf("uid-415")),
      });
      expect(reply.status).toBe(415);
      expect(JSON.parse(reply.body)).toEqual({ error: 'Content-Type must be application/json, got "text/plain"' });
    });

    it("answers 400 to a review nested deeper than the limit, as to one at it, without a 500", async () => {
      const nestedReview = (depth: number) => {
        // The review itself takes 4 levels (body, request, object, metadata); the rest nests inside the metadata.
        const text = JSON.stringify(reviewOf("uid-deep")).replace('{"name":"vmi-1"}', () => `{"name":"vmi-1","deep":${"[".repeat(depth - 4)}1${"]".repeat(depth - 4)}}`);
        return send(server.url("/mutate"), { ca: ca.certPem, headers: { "content-type": "application/json" }, body: text });
      };
      const atLimit = await nestedReview(100);
      expect(atLimit.status, atLimit.body).toBe(200);
      const over = await nestedReview(101);
      expect(over.status).toBe(400);
      expect(JSON.parse(over.body)).toEqual({ error: "body nests deeper than 100 levels" });
      expect(over.headers.connection).toBe("close");
    });

    it("answers 413 from the Content-Length alone when it announces too large a body", async () => {
      const reply = await send(server.url("/validate"), {
        ca: ca.certPem,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ padding: "x".repeat(2 * MAX_BODY_BYTES) }),
      });
      expect(reply.status).toBe(413);
      expect(reply.headers.connection).toBe("close");
      expect(JSON.parse(reply.body)).toEqual({ error: `body exceeds ${MAX_BODY_BYTES} bytes` });
    });

    it("answers 413 once a chunked body passes the limit, without waiting for the rest", async () => {
      const req = httpsRequest(server.url("/validate"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        ca: ca.certPem,
        agent: false,
      });
      req.on("error", () => undefined); // the server hangs up on a body it will not read
      req.write("x".repeat(2 * MAX_BODY_BYTES)); // and never end(): the answer must not depend on the rest
      const [res] = (await once(req, "response")) as [{ statusCode?: number }];
      expect(res.statusCode).toBe(413);
      req.destroy();
    });

    it("answers 400 to a body that is not JSON", async () => {
      const reply = await send(server.url("/validate"), { ca: ca.certPem, headers: { "content-type": "application/json" }, body: "{not json" });
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body)).toEqual({ error: "body is not valid JSON" });
    });

    it("answers 400 with the reason to JSON that is not an AdmissionReview", async () => {
      const reply = await postJson(server.url("/validate"), ca.certPem, { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body)).toEqual({ error: "request is missing" });
    });

    it("answers 404 on a path without a handler", async () => {
      const reply = await postJson(server.url("/nowhere"), ca.certPem, reviewOf("uid-404"));
      expect(reply.status).toBe(404);
      expect(JSON.parse(reply.body)).toEqual({ error: "no admission handler at /nowhere" });
    });

    it("answers 405 to anything but POST on a handler path", async () => {
      const reply = await send(server.url("/validate"), { ca: ca.certPem, method: "GET" });
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe("POST");
    });

    it.each(["/throws", "/rejects", "/wrong-uid"])("answers 500, never allowed, when the %s handler fails", async (path) => {
      const reply = await postJson(server.url(path), ca.certPem, reviewOf("uid-500"));
      expect(reply.status).toBe(500);
      expect(JSON.parse(reply.body)).toHaveProperty("error");
      expect(reply.body).not.toContain("allowed");
    });

    it("keeps serving after rejecting", async () => {
      await send(server.url("/validate"), { ca: ca.certPem, headers: { "content-type": "application/json" }, body: "x".repeat(MAX_BODY_BYTES + 1) });
      await postJson(server.url("/throws"), ca.certPem, reviewOf("uid-500"));
      const reply = await postJson(server.url("/validate"), ca.certPem, reviewOf("uid-after"));
      expect(JSON.parse(reply.body)).toEqual(allowed("uid-after"));
    });
  });

  it("cuts off a client that never sends the body it announced, and keeps serving", async () => {
    const stalling = await startOnLoopback(ca, { requestTimeoutMs: 300 });
    try {
      const socket = tlsConnect({ host: "127.0.0.1", port: stalling.port, ca: ca.certPem });
      socket.on("error", () => undefined); // a reset is as good as a close here
      await once(socket, "secureConnect");
      const started = performance.now();
      socket.write("POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
      socket.resume();
      await once(socket, "close");
      expect(performance.now() - started).toBeLessThan(3_000);

      const reply = await postJson(stalling.url("/validate"), ca.certPem, reviewOf("uid-after-stall"));
      expect(JSON.parse(reply.body)).toEqual(allowed("uid-after-stall"));
    } finally {
      await stalling.close();
    }
  });

  it("keeps an idle keep-alive connection open past Node's 5 s default, so the API server closes it first", async () => {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: ca.certPem });
    const post = () => new Promise<boolean>((resolve, reject) => {
      const req = httpsRequest(server.url("/validate"), { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        res.on("end", () => { resolve(req.reusedSocket); });
      });
      req.on("error", reject);
      req.end(JSON.stringify(reviewOf("uid-keep-alive")));
    });
    try {
      expect(await post()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(await post()).toBe(true);
    } finally {
      agent.destroy();
    }
  }, 15_000);

  it("serves a new certificate after setTlsCertificate, to clients that trust only the new CA", async () => {
    const rotating = await startOnLoopback(ca);
    try {
      const newCa = await createCertificateAuthority("rotated-ca", 1);
      const newCert = await serverCertificate(newCa);
      rotating.setTlsCertificate(newCert.certPem, newCert.keyPem);

      const reply = await postJson(rotating.url("/validate"), newCa.certPem, reviewOf("uid-rotated"));
      expect(JSON.parse(reply.body)).toEqual(allowed("uid-rotated"));
      await expect(postJson(rotating.url("/validate"), ca.certPem, reviewOf("uid-old-ca"))).rejects.toThrow();
    } finally {
      await rotating.close();
    }
  });

  it("refuses a handler on the health check path", async () => {
    await expect(startOnLoopback(ca, { handlers: { "/healthz": (request) => allowed(request.uid) } })).rejects.toThrow(/health check/);
  });
});
