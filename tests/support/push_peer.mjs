// push_peer — a Web Push service for tests, on loopback, with Node's own
// crypto (no npm package). It plays both ends a real push service and a
// browser would: it makes the browser's subscriptions (a P-256 key pair and
// an auth secret each), and for every push it checks what a push service
// checks (RFC 8292's VAPID JWT: ES256 signature against the k= key, aud,
// exp) and then decrypts the body as the browser would (RFC 8291 aes128gcm
// with the subscription's private key and auth secret).
//
//   node tests/support/push_peer.mjs [--port N] [--subscriptions N]
//        [--server-key <b64url>] [--gone <id>]... [--out <file>]
//   node tests/support/push_peer.mjs --self-test
//
// --self-test decrypts RFC 8291 Appendix A's body with the example's user
// agent key and auth secret and exits 0 when the plaintext is the RFC's
// (so the peer's decryption is checked apart from the C that encrypts).
//
// On start it prints one JSON line to stdout:
//   {"port":P,"subscriptions":[{"id":"s1","endpoint":"http://127.0.0.1:P/push/s1",
//     "keys":{"p256dh":"…","auth":"…"}},…]}
// (the subscription's shape is the browser's PushSubscription.toJSON()).
// Then one JSON line per request to POST /push/<id>, to --out (appended,
// synchronously, before the answer is sent) or stdout:
//   {"ok":true,"id":"s1","status":201,"plaintext":"…","ttl":86400,"urgency":"high",
//    "sub":"mailto:…","aud":"http://127.0.0.1:P","exp":…}
//   {"ok":false,"id":"s1","status":401,"error":"…"}
// Answers: 201 delivered; 400 bad body or headers (cannot decrypt); 401 a
// bad or missing JWT; 403 k= is not --server-key (when given: the key the
// subscription was made with); 404 unknown id; 410 for an id given with
// --gone or marked gone later with POST /gone/<id>; 413 too large.
// SIGTERM or SIGINT ends it.

import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";

const args = process.argv.slice(2);
const opt = { port: 0, subscriptions: 1, serverKey: null, gone: new Set(), out: null, selfTest: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = () => {
    if (i + 1 >= args.length) throw new Error(`${a} needs a value`);
    return args[++i];
  };
  if (a === "--port") opt.port = Number(v());
  else if (a === "--subscriptions") opt.subscriptions = Number(v());
  else if (a === "--server-key") opt.serverKey = v();
  else if (a === "--gone") opt.gone.add(v());
  else if (a === "--out") opt.out = v();
  else if (a === "--self-test") opt.selfTest = true;
  else {
    process.stderr.write(`push_peer: unknown argument ${a}\n`);
    process.exit(2);
  }
}

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const unb64u = (s) => Buffer.from(s, "base64url");

const subs = new Map();
for (let n = 1; n <= opt.subscriptions; n++) {
  const ecdh = crypto.createECDH("prime256v1");
  ecdh.generateKeys();
  subs.set(`s${n}`, { ecdh, auth: crypto.randomBytes(16) });
}

function emit(line) {
  const text = JSON.stringify(line) + "\n";
  if (opt.out) fs.appendFileSync(opt.out, text);
  else fs.writeSync(1, text);
}

class Refusal extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// RFC 8292: Authorization: vapid t=<jwt>, k=<key>. Returns the claims.
function checkVapid(req, origin) {
  const h = req.headers.authorization;
  if (!h) throw new Refusal(401, "no Authorization header");
  const m = /^vapid\s+t=([A-Za-z0-9_.-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(h);
  if (!m) throw new Refusal(401, `Authorization is not 'vapid t=…, k=…': ${h.slice(0, 40)}`);
  const [, jwt, k] = m;
  const key = unb64u(k);
  if (key.length !== 65 || key[0] !== 4) throw new Refusal(401, "k is not an uncompressed P-256 point");
  const parts = jwt.split(".");
  if (parts.length !== 3) throw new Refusal(401, "the JWT has not three parts");
  let header, claims;
  try {
    header = JSON.parse(unb64u(parts[0]).toString("utf8"));
    claims = JSON.parse(unb64u(parts[1]).toString("utf8"));
  } catch {
    throw new Refusal(401, "the JWT's header or claims are not JSON");
  }
  if (header.alg !== "ES256" || header.typ !== "JWT")
    throw new Refusal(401, `the JWT's header is ${JSON.stringify(header)}, not ES256 JWT`);
  let pub;
  try {
    pub = crypto.createPublicKey({
      key: { kty: "EC", crv: "P-256", x: b64u(key.subarray(1, 33)), y: b64u(key.subarray(33, 65)) },
      format: "jwk",
    });
  } catch (e) {
    throw new Refusal(401, `k is not a P-256 public key: ${e.message}`);
  }
  const sig = unb64u(parts[2]);
  if (sig.length !== 64) throw new Refusal(401, `the signature is ${sig.length} bytes, not r||s (64)`);
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`, "ascii");
  if (!crypto.verify("sha256", signed, { key: pub, dsaEncoding: "ieee-p1363" }, sig))
    throw new Refusal(401, "the JWT's signature does not verify with k");
  if (claims.aud !== origin) throw new Refusal(401, `aud ${JSON.stringify(claims.aud)} is not ${origin}`);
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isInteger(claims.exp)) throw new Refusal(401, "exp is not an integer");
  if (claims.exp <= now) throw new Refusal(401, "the JWT has expired");
  if (claims.exp > now + 86400) throw new Refusal(401, "exp is more than 24 h ahead");
  if (typeof claims.sub !== "string" || !/^(mailto:|https:)/.test(claims.sub))
    throw new Refusal(401, "sub is not a mailto: or https: URI");
  if (opt.serverKey && k !== opt.serverKey)
    throw new Refusal(403, "k is not the applicationServerKey the subscription was made with");
  return claims;
}

// RFC 8291 / RFC 8188: the user agent's side.
function decrypt(sub, body) {
  if (body.length < 86 + 17) throw new Refusal(400, `body of ${body.length} bytes is too short`);
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  if (idlen !== 65) throw new Refusal(400, `idlen ${idlen}, not 65`);
  const asPublic = body.subarray(21, 86);
  const record = body.subarray(86);
  if (rs < 18 || record.length > rs) throw new Refusal(400, `one record of ${record.length} bytes over rs ${rs}`);
  let secret;
  try {
    secret = sub.ecdh.computeSecret(asPublic);
  } catch (e) {
    throw new Refusal(400, `keyid is not a P-256 public key: ${e.message}`);
  }
  const uaPublic = sub.ecdh.getPublicKey();
  const info = Buffer.concat([Buffer.from("WebPush: info\0", "ascii"), uaPublic, asPublic]);
  const ikm = Buffer.from(crypto.hkdfSync("sha256", secret, sub.auth, info, 32));
  const cek = Buffer.from(crypto.hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(crypto.hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  let plain;
  try {
    const d = crypto.createDecipheriv("aes-128-gcm", cek, nonce);
    d.setAuthTag(record.subarray(record.length - 16));
    plain = Buffer.concat([d.update(record.subarray(0, record.length - 16)), d.final()]);
  } catch {
    throw new Refusal(400, "cannot decrypt: the record's tag does not verify");
  }
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (end < 0 || plain[end] !== 2) throw new Refusal(400, "the last record has no 0x02 delimiter");
  return plain.subarray(0, end).toString("utf8");
}

function handle(req, res, body, origin) {
  const gone = /^\/gone\/([A-Za-z0-9_-]+)$/.exec(req.url);
  if (req.method === "POST" && gone) {
    opt.gone.add(gone[1]);
    res.writeHead(204).end();
    return;
  }
  const m = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url);
  const id = m ? m[1] : null;
  try {
    if (req.method !== "POST" || !m) throw new Refusal(404, `no ${req.method} ${req.url}`);
    if (opt.gone.has(id)) throw new Refusal(410, "the subscription has expired");
    const sub = subs.get(id);
    if (!sub) throw new Refusal(404, `no subscription ${id}`);
    if (body === null) throw new Refusal(413, "body over 8192 bytes");
    const claims = checkVapid(req, origin);
    if (req.headers["content-encoding"] !== "aes128gcm")
      throw new Refusal(400, `Content-Encoding ${req.headers["content-encoding"]}, not aes128gcm`);
    const ttlText = req.headers.ttl;
    if (ttlText === undefined || !/^[0-9]+$/.test(ttlText)) throw new Refusal(400, "no TTL header");
    const urgency = req.headers.urgency ?? "normal";
    if (!["very-low", "low", "normal", "high"].includes(urgency))
      throw new Refusal(400, `Urgency ${urgency} is not very-low, low, normal or high`);
    const plaintext = decrypt(sub, body);
    emit({ ok: true, id, status: 201, plaintext, ttl: Number(ttlText), urgency,
      contentType: req.headers["content-type"] ?? null, sub: claims.sub, aud: claims.aud, exp: claims.exp });
    res.writeHead(201, { Location: `${origin}/message/${crypto.randomUUID()}` }).end();
  } catch (e) {
    const status = e instanceof Refusal ? e.status : 500;
    emit({ ok: false, id, status, error: e.message });
    res.writeHead(status, { "Content-Type": "text/plain" }).end(e.message + "\n");
  }
}

if (opt.selfTest) {
  const ecdh = crypto.createECDH("prime256v1");
  ecdh.setPrivateKey(unb64u("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"));
  const body = unb64u(
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
      "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
      "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
  );
  const want = "When I grow up, I want to be a watermelon";
  const got = decrypt({ ecdh, auth: unb64u("BTBZMqHH6r4Tts7J_aSIgg") }, body);
  body[100] ^= 1;
  let tampered = "accepted";
  try {
    decrypt({ ecdh, auth: unb64u("BTBZMqHH6r4Tts7J_aSIgg") }, body);
  } catch (e) {
    tampered = e.message;
  }
  const ok = got === want && tampered === "cannot decrypt: the record's tag does not verify";
  process.stdout.write(`push_peer self-test: ${JSON.stringify(got)}; one bit flipped: ${tampered}: ${ok ? "ok" : "FAILED"}\n`);
  process.exit(ok ? 0 : 1);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size <= 8192) chunks.push(c);
  });
  req.on("end", () => {
    const origin = `http://127.0.0.1:${server.address().port}`;
    handle(req, res, size <= 8192 ? Buffer.concat(chunks) : null, origin);
  });
});

server.listen(opt.port, "127.0.0.1", () => {
  const port = server.address().port;
  const list = [...subs].map(([id, s]) => ({
    id,
    endpoint: `http://127.0.0.1:${port}/push/${id}`,
    keys: { p256dh: b64u(s.ecdh.getPublicKey()), auth: b64u(s.auth) },
  }));
  fs.writeSync(1, JSON.stringify({ port, subscriptions: list }) + "\n");
});

for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
