import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';

/** Credentials the shim may re-sign for: the role sessions the rehearsal obtained from STS. */
export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface S3SigningShim {
  readonly endpoint: string;
  /** Lets the shim verify and re-sign requests made with these credentials. */
  trust(credentials: SessionCredentials): void;
  stop(): Promise<void>;
}

/**
 * A loopback proxy between the bundle's S3 client and moto, for one moto defect: with IAM
 * enforcement on, moto recomputes an S3 request's signature over the path as werkzeug re-quotes it,
 * which leaves `= + , : @ ; ! $ & ' ( ) *` unescaped, while AWS (and every SDK) signs those
 * escaped. Every output key of this platform has `=` in it (`partner=acme/`), so moto refuses them
 * all with SignatureDoesNotMatch (docs/rehearsal.md, gap "S3 signatures").
 *
 * The shim first verifies the request's own signature exactly as AWS does (SigV4 over the path as
 * sent) and answers 403 SignatureDoesNotMatch when it does not match; only then does it forward the
 * request with the path spelled the way moto reads it, signed again with the same credentials. The
 * identity, the action and the key are unchanged, so moto's IAM evaluation is the same one AWS does.
 * Requests with credentials the shim was not given pass through untouched.
 */
export async function startS3SigningShim(upstream: string): Promise<S3SigningShim> {
  const target = new URL(upstream);
  const trusted = new Map<string, SessionCredentials>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const rawUrl = req.url ?? '/';
      const auth = parseAuthorization(req.headers.authorization);
      const credentials = auth ? trusted.get(auth.accessKeyId) : undefined;
      let path = rawUrl;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined || name === 'expect') continue;
        headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      headers.host = target.host;
      if (auth && credentials) {
        const [rawPath = '/', rawQuery = ''] = splitOnce(rawUrl, '?');
        const sent = await signature(auth, credentials, req.method ?? 'GET', req.headers, req.headers.host ?? '', rawPath, rawQuery);
        if (sent !== auth.signature) {
          req.resume();
          res.writeHead(403, { 'content-type': 'application/xml' });
          res.end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>rehearsal shim</Message></Error>',
          );
          return;
        }
        const motoPath = rawPath.split('/').map(werkzeugQuote).join('/');
        path = rawQuery ? `${motoPath}?${rawQuery}` : motoPath;
        const resigned = await signature(
          auth,
          credentials,
          req.method ?? 'GET',
          { ...req.headers, host: target.host },
          target.host,
          motoPath,
          rawQuery,
        );
        headers.authorization = req.headers.authorization!.replace(/Signature=[0-9a-f]+/, `Signature=${resigned}`);
      }
      const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path, headers }, (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      });
      forward.on('error', (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      req.pipe(forward);
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    trust: (credentials) => trusted.set(credentials.accessKeyId, credentials),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

function parseAuthorization(header: string | undefined): Authorization | undefined {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
      header ?? '',
    );
  if (!match) return undefined;
  const [, accessKeyId, date, region, service, signedHeaders, sig] = match as unknown as string[];
  return {
    accessKeyId: accessKeyId!,
    date: date!,
    region: region!,
    service: service!,
    signedHeaders: signedHeaders!.split(';'),
    signature: sig!,
  };
}

/** SigV4 over exactly the signed headers of the original request, the path taken as it is (S3 signs it without re-escaping). */
async function signature(
  auth: Authorization,
  credentials: SessionCredentials,
  method: string,
  headers: IncomingHttpHeaders,
  host: string,
  path: string,
  rawQuery: string,
): Promise<string> {
  const signed: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = name === 'host' ? host : headers[name];
    if (value !== undefined) signed[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string | string[]> = {};
  for (const pair of rawQuery ? rawQuery.split('&') : []) {
    const [key = '', value = ''] = splitOnce(pair, '=');
    const name = decodeURIComponent(key);
    const decoded = decodeURIComponent(value);
    const existing = query[name];
    query[name] = existing === undefined ? decoded : ([] as string[]).concat(existing, decoded);
  }
  const signer = new SignatureV4({
    credentials,
    region: auth.region,
    service: auth.service,
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const amzDate = signed['x-amz-date'] ?? '';
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const result = await signer.sign({ method, protocol: 'http:', hostname: host, path, query, headers: signed }, { signingDate });
  return /Signature=([0-9a-f]+)/.exec(String(result.headers.authorization ?? result.headers.Authorization))?.[1] ?? '';
}

/** A path segment as werkzeug's `iri_to_uri` spells it: the characters it considers safe stay literal. */
function werkzeugQuote(segment: string): string {
  const decoded = decodeURIComponent(segment);
  return Array.from(new TextEncoder().encode(decoded))
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return byte < 0x80 && /[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

/** The SHA-256/HMAC the signer needs, from node:crypto. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
