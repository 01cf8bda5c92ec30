import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/*
 * A verifier of AWS Signature Version 4, written from the published algorithm (the canonical request,
 * the string to sign, the derived signing key), the way API Gateway checks a request before its IAM
 * authorization: used by the tests to check what the SDK and the CLI sign. Checked itself against
 * vectors of AWS's published SigV4 test suite (test/unit/sigv4-signing.test.ts).
 */

/** A request as the server received it. */
export interface ReceivedRequest {
  method: string;
  /** The path as sent on the wire (each segment already percent-encoded once by the client). */
  path: string;
  /** Query parameters, decoded, in any order. */
  query: readonly (readonly [string, string])[];
  /** Header names in any case; a header received twice has its values joined with ",". */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

export interface VerifyOptions {
  /** The secret of an access key id, or undefined for a key the verifier does not know. */
  secretOf: (accessKeyId: string) => string | undefined;
  region: string;
  service: string;
  /** When the request is checked; a signature more than 15 minutes away from it is refused. */
  now: Date;
}

export type Verdict =
  | { valid: true; accessKeyId: string; sessionToken: string | undefined; signedHeaders: string[] }
  | { valid: false; reason: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;_.-]+), ?Signature=([0-9a-f]{64})$/;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 percent-encoding of everything but the unreserved characters, with upper-case hex. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Header names lowercased; values trimmed, runs of spaces collapsed to one. */
function canonicalHeaders(headers: Readonly<Record<string, string>>): Map<string, string> {
  const result = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    result.set(name.toLowerCase(), value.trim().replace(/ +/g, ' '));
  }
  return result;
}

/**
 * The canonical request: method, canonical URI (every path segment encoded once more, the rule of every
 * service but S3), canonical query (names and values encoded, sorted by name then value), the signed
 * headers with their values, their names, and the hex SHA-256 of the body.
 */
export function canonicalRequest(request: ReceivedRequest, signedHeaders: readonly string[]): string {
  const uri = request.path.split('/').map(uriEncode).join('/') || '/';
  const query = request.query
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headers = canonicalHeaders(request.headers);
  const headerLines = signedHeaders.map((name) => `${name}:${headers.get(name) ?? ''}\n`).join('');
  return [
    request.method.toUpperCase(),
    uri,
    query,
    headerLines,
    signedHeaders.join(';'),
    sha256Hex(request.body),
  ].join('\n');
}

/** The string to sign for a canonical request at `amzDate` (`20150830T123600Z`) in `scope`. */
export function stringToSign(canonical: string, amzDate: string, scope: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
}

/** The hex signature of `toSign` by `secret`, through the key derived for the date, region and service. */
export function signature(
  secret: string,
  date: string,
  region: string,
  service: string,
  toSign: string,
): string {
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

/** Whether `request` carries a valid SigV4 signature for `options.region` and `options.service`. */
export function verifySigV4(request: ReceivedRequest, options: VerifyOptions): Verdict {
  const headers = canonicalHeaders(request.headers);
  const match = AUTHORIZATION.exec(headers.get('authorization') ?? '');
  if (!match) return { valid: false, reason: 'no SigV4 Authorization header' };
  const [, accessKeyId = '', date = '', region, service, signed = '', presented = ''] = match;
  if (region !== options.region || service !== options.service) {
    return { valid: false, reason: `credential scope is for ${region}/${service}` };
  }
  const amzDate = headers.get('x-amz-date') ?? '';
  const at = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!at || !amzDate.startsWith(date))
    return { valid: false, reason: 'x-amz-date missing or not the scope date' };
  const time = Date.UTC(
    Number(at[1]),
    Number(at[2]) - 1,
    Number(at[3]),
    Number(at[4]),
    Number(at[5]),
    Number(at[6]),
  );
  if (Math.abs(time - options.now.getTime()) > MAX_SKEW_MS)
    return { valid: false, reason: 'signature expired' };
  const signedHeaders = signed.split(';');
  const sorted = [...signedHeaders].sort();
  if (signedHeaders.join(';') !== sorted.join(';') || !signedHeaders.includes('host')) {
    return { valid: false, reason: 'signed headers unsorted or without host' };
  }
  for (const name of signedHeaders) {
    if (!headers.has(name)) return { valid: false, reason: `signed header ${name} was not received` };
  }
  if (headers.has('x-amz-security-token') && !signedHeaders.includes('x-amz-security-token')) {
    return { valid: false, reason: 'the session token is not signed' };
  }
  const secret = options.secretOf(accessKeyId);
  if (secret === undefined) return { valid: false, reason: 'unknown access key' };
  const scope = `${date}/${region}/${service}/aws4_request`;
  const expected = signature(
    secret,
    date,
    options.region,
    options.service,
    stringToSign(canonicalRequest(request, signedHeaders), amzDate, scope),
  );
  if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(presented, 'hex'))) {
    return { valid: false, reason: 'signature does not match' };
  }
  return { valid: true, accessKeyId, sessionToken: headers.get('x-amz-security-token'), signedHeaders };
}
