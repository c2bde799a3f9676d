import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
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
 * A loopback proxy between the rehearsal's S3 clients and moto, for one moto defect: with IAM
 * enforcement on, moto checks an S3 request's signature against the URL as werkzeug rebuilds it,
 * which unescapes `=`, `/`, `:`, `@`... in the path and the query, while AWS (and every SDK) signs
 * them escaped. Every output key of this platform has `=` in it (`partner=acme/`), and listing it
 * puts one in the query, so moto refuses them all with SignatureDoesNotMatch (docs/rehearsal.md, gap 6).
 *
 * The shim first verifies the request's own signature exactly as AWS does (the SDK's SigV4 signer
 * over the request as sent) and answers 403 SignatureDoesNotMatch when it does not match; only then
 * does it forward the request unchanged but for the signature, computed again with the same
 * credentials over the URL as moto reads it. Identity, action, key and bytes are unchanged, so moto's
 * IAM evaluation is the one it would make. Requests with credentials the shim was not given pass
 * through untouched.
 *
 * STS requests may pass through it too (the function's `AWS_ENDPOINT_URL_STS`): they go to moto as
 * they were sent, and the credentials of each `AssumeRole` answer are trusted from then on, so the
 * per-feed sessions the function obtains at run time can be re-signed like the rehearsal's own.
 */
export async function startS3SigningShim(upstream: string): Promise<S3SigningShim> {
  const target = new URL(upstream);
  const trusted = new Map<string, SessionCredentials>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const rawUrl = req.url ?? '/';
      const auth = parseAuthorization(req.headers.authorization);
      const credentials = auth ? trusted.get(auth.accessKeyId) : undefined;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined || name === 'expect') continue;
        headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      if (auth?.service === 'sts') {
        forwardSts(req, res, target, headers, (learned) => trusted.set(learned.accessKeyId, learned));
        return;
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
        const resigned = motoSignature(auth, credentials, req.method ?? 'GET', { ...req.headers, host: target.host }, rawPath, rawQuery);
        headers.authorization = req.headers.authorization!.replace(/Signature=[0-9a-f]+/, `Signature=${resigned}`);
      }
      const forward = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: rawUrl, headers },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
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

/**
 * An STS request forwarded with its own Host header (it is signed; nothing in it needs re-signing),
 * and the credentials of an `AssumeRole` answer (the query protocol's XML) handed to `learn`.
 */
function forwardSts(
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
  headers: Record<string, string>,
  learn: (credentials: SessionCredentials) => void,
): void {
  const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upstreamRes) => {
    const chunks: Buffer[] = [];
    upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
    upstreamRes.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString('utf8');
      const field = (name: string) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(text)?.[1];
      const accessKeyId = field('AccessKeyId');
      const secretAccessKey = field('SecretAccessKey');
      if (text.includes('<AssumeRoleResult>') && accessKeyId && secretAccessKey) {
        learn({ accessKeyId, secretAccessKey, sessionToken: field('SessionToken') });
      }
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      res.end(body);
    });
  });
  forward.on('error', (err) => {
    res.writeHead(502);
    res.end(String(err));
  });
  req.pipe(forward);
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

/**
 * The signature moto will compute: SigV4 as botocore builds it, over the request as moto sees it.
 * moto takes the URL from werkzeug, which decodes the path (WSGI), quotes it again leaving
 * `!$&'()*+,/:;=@%` literal, then unquotes every escape but controls, space, `%`, `/`, `?` and `#`
 * (`uri_to_iri`); the query is quoted the same way and unquoted but for controls, space, `%`, `&`,
 * `=`, `+` and `#`. botocore then signs that path and the query's pairs sorted, without escaping.
 */
function motoSignature(
  auth: Authorization,
  credentials: SessionCredentials,
  method: string,
  headers: IncomingHttpHeaders,
  rawPath: string,
  rawQuery: string,
): string {
  const path = unquoteExcept(pyQuote(percentDecode(rawPath), "!$&'()*+,/:;=@%"), ALWAYS_QUOTED + '/?#');
  const query = rawQuery ? unquoteExcept(pyQuote(rawQuery, "!$&'()*+,/:;=?@%"), ALWAYS_QUOTED + '&=+#') : '';
  const pairs = query ? query.split('&').map((pair) => splitOnce(pair, '=')) : [];
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  const names = auth.signedHeaders
    .filter((name) => !['expect', 'transfer-encoding', 'user-agent', 'x-amzn-trace-id'].includes(name))
    .sort();
  const value = (name: string) => {
    const v = headers[name];
    return (Array.isArray(v) ? v.join(',') : (v ?? '')).split(/\s+/).filter(Boolean).join(' ');
  };
  const payloadHash = value('x-amz-content-sha256');
  const canonical = [
    method.toUpperCase(),
    path,
    pairs.map(([k, v]) => `${k}=${v}`).join('&'),
    `${names.map((name) => `${name}:${value(name)}`).join('\n')}\n`,
    names.join(';'),
    payloadHash,
  ].join('\n');
  const amzDate = value('x-amz-date');
  const scope = `${amzDate.slice(0, 8)}/${auth.region}/${auth.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n');
  let key: Buffer = Buffer.from(`AWS4${credentials.secretAccessKey}`, 'utf8');
  for (const part of [amzDate.slice(0, 8), auth.region, auth.service, 'aws4_request'])
    key = createHmac('sha256', key).update(part, 'utf8').digest();
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

/** Controls, space, `%` and DEL: werkzeug never unquotes them. */
const ALWAYS_QUOTED = String.fromCharCode(...Array.from({ length: 0x21 }, (_, i) => i), 0x25, 0x7f);

/** Python's `urllib.parse.quote`: UTF-8 bytes, letters, digits, `_.-~` and `safe` left as they are. */
function pyQuote(text: string, safe: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out +=
      byte < 0x80 && (/[A-Za-z0-9_.\-~]/.test(char) || safe.includes(char)) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Every `%XX` decoded (as UTF-8), as WSGI decodes a path. */
function percentDecode(text: string): string {
  return unquoteExcept(text, '');
}

/** Decodes `%XX` escapes as UTF-8, except those of the characters in `keep`; invalid UTF-8 stays escaped. */
function unquoteExcept(text: string, keep: string): string {
  let out = '';
  let run: number[] = [];
  let runText = '';
  const flush = () => {
    if (!run.length) return;
    try {
      out += new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(run));
    } catch {
      out += runText;
    }
    run = [];
    runText = '';
  };
  for (let i = 0; i < text.length;) {
    const escape = /^%[0-9A-Fa-f]{2}/.exec(text.slice(i, i + 3));
    if (escape) {
      const byte = parseInt(text.slice(i + 1, i + 3), 16);
      if (!keep.includes(String.fromCharCode(byte))) {
        run.push(byte);
        runText += text.slice(i, i + 3);
        i += 3;
        continue;
      }
      flush();
      out += text.slice(i, i + 3);
      i += 3;
      continue;
    }
    flush();
    out += text[i];
    i++;
  }
  flush();
  return out;
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
