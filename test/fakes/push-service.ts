/**
 * A fake Web Push service (RFC 8030) on loopback: it checks each request as a push service would
 * (the VAPID JWT of RFC 8292: ES256 signature against the `k` key, `aud` = the endpoint's origin,
 * `exp` within 24 h, a `sub` contact; TTL, Content-Encoding aes128gcm) and, playing the browser,
 * decrypts the body (RFC 8291 over RFC 8188) with the subscription's private key. The decryption
 * is written here from the RFCs with node:crypto, independently of the library that encrypts.
 */
import { createECDH, createDecipheriv, createHmac, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One browser's subscription: the key pair and secret only the browser knows, and what it gives the server. */
export interface FakeSubscription {
  id: string;
  endpoint: string;
  json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
  ecdh: ECDH;
  auth: Buffer;
}

export interface Delivery {
  subscriptionId: string;
  headers: IncomingHttpHeaders;
  jwt: { header: Record<string, unknown>; claims: Record<string, unknown> };
  /** The decrypted payload, parsed as JSON. */
  message: any;
}

export class FakePushService {
  readonly deliveries: Delivery[] = [];
  /** Requests the fake refused, with why (a bad JWT, a payload it could not decrypt…). */
  readonly refusals: { subscriptionId: string; reason: string }[] = [];
  private readonly subscriptions = new Map<string, FakeSubscription>();
  /** Subscriptions the "browser" dropped: the service answers 410 Gone. */
  private readonly gone = new Set<string>();
  private server?: Server;
  private waiters: (() => void)[] = [];

  constructor(private readonly vapidPublicKey: () => string | undefined = () => undefined) {}

  get origin(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { status } = this.receive(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks));
        res.writeHead(status).end();
        for (const w of this.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A new browser subscription: a fresh P-256 key pair and 16-byte auth secret (what PushManager.subscribe makes). */
  subscribe(): FakeSubscription {
    const id = randomBytes(8).toString('hex');
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const endpoint = `${this.origin}/push/${id}`;
    const sub = {
      id,
      endpoint,
      ecdh,
      auth,
      json: { endpoint, expirationTime: null, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } },
    } as const;
    this.subscriptions.set(id, sub);
    return sub;
  }

  /** The browser dropped this subscription: later messages get 410 Gone. */
  expire(sub: FakeSubscription): void {
    this.gone.add(sub.id);
  }

  deliveriesTo(sub: FakeSubscription): Delivery[] {
    return this.deliveries.filter((d) => d.subscriptionId === sub.id);
  }

  /** Resolves after the next request has been answered. */
  nextRequest(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no push request arrived')), timeoutMs);
      this.waiters.push(() => (clearTimeout(timer), resolve()));
    });
  }

  private receive(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer): { status: number } {
    const id = /^\/push\/([0-9a-f]+)$/.exec(url)?.[1];
    const sub = id ? this.subscriptions.get(id) : undefined;
    if (method !== 'POST' || !sub) return { status: 404 };
    if (this.gone.has(sub.id)) return { status: 410 };
    try {
      const jwt = this.checkVapid(headers);
      if (!/^\d+$/.test(String(headers.ttl ?? ''))) throw new Error('TTL header missing');
      if (headers['content-encoding'] !== 'aes128gcm') throw new Error(`Content-Encoding ${headers['content-encoding']}`);
      const message = JSON.parse(decryptAes128gcm(body, sub).toString('utf8'));
      this.deliveries.push({ subscriptionId: sub.id, headers, jwt, message });
      return { status: 201 };
    } catch (e) {
      this.refusals.push({ subscriptionId: sub.id, reason: (e as Error).message });
      return { status: 400 };
    }
  }

  /** RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`. */
  private checkVapid(headers: IncomingHttpHeaders): Delivery['jwt'] {
    const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/.exec(headers.authorization ?? '');
    if (!m) throw new Error('no vapid Authorization header');
    const [token, k] = [m[1], m[2]];
    const expected = this.vapidPublicKey();
    if (expected !== undefined && k !== expected) throw new Error('k is not the server key the browser subscribed with');
    const [h, c, s] = token.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown>;
    if (header.alg !== 'ES256') throw new Error(`alg ${String(header.alg)}`);
    // The raw 65-byte point as a JWK; ES256 signatures are r||s (IEEE P1363), 64 bytes.
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
      format: 'jwk',
    });
    const isValid = verify('sha256', Buffer.from(`${h}.${c}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
    if (!isValid) throw new Error('JWT signature does not verify');
    if (claims.aud !== this.origin) throw new Error(`aud ${String(claims.aud)} is not ${this.origin}`);
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 24 * 3600) throw new Error(`exp ${String(claims.exp)} not within 24 h`);
    if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Error(`sub ${String(claims.sub)}`);
    return { header, claims };
  }
}

/**
 * RFC 8188 §2 header (salt 16 | rs 4 | idlen 1 | keyid = the sender's public key) then one record;
 * RFC 8291 §3.3–3.4: IKM from ECDH and the auth secret, then CEK and nonce by HKDF over the salt.
 */
export function decryptAes128gcm(body: Buffer, sub: Pick<FakeSubscription, 'ecdh' | 'auth'>): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  const senderPublic = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  if (idlen !== 65) throw new Error(`keyid of ${idlen} bytes, not a P-256 point`);
  if (records.length > rs) throw new Error('more than one record');
  const shared = sub.ecdh.computeSecret(senderPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), sub.ecdh.getPublicKey(), senderPublic]);
  const ikm = hkdf(sub.auth, shared, keyInfo, 32);
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const plain = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02 followed by optional zero padding (RFC 8188 §2).
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error('no last-record delimiter');
  return plain.subarray(0, end);
}

/** HKDF (RFC 5869) with SHA-256, for outputs of at most one block. */
function hkdf(salt: Buffer, ikm: Buffer, info: Buffer, length: number): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  return createHmac('sha256', prk)
    .update(Buffer.concat([info, Buffer.from([1])]))
    .digest()
    .subarray(0, length);
}
