import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Message signatures. Two schemes, with two different key derivations (see DESIGN.md, Webhooks):
 *
 * - Standard Webhooks (https://www.standardwebhooks.com): `v1,<base64 HMAC-SHA256>` over
 *   `"<id>.<timestamp>.<body>"`, keyed with the base64-DECODED part of the secret after `whsec_`.
 * - The reference's scheme: hex HMAC-SHA256 of the body, keyed with the secret string's UTF-8 bytes as given.
 *
 * Signatures are always computed over the exact bytes sent or received, never over re-serialized JSON.
 */

const SECRET_PREFIX = 'whsec_';
const SIGNATURE_VERSION = 'v1';
const STRICT_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// A canonical decimal: no sign, no leading zeros, within the safe integer range.
const TIMESTAMP_PATTERN = /^(0|[1-9][0-9]{0,15})$/;
const HEX_SIGNATURE_PATTERN = /^[0-9a-fA-F]{64}$/;
const HEX_PREFIX = 'sha256=';

/** Default Standard Webhooks timestamp tolerance, either side of now. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A signing secret that is not `whsec_` followed by non-empty base64. Never carries the secret itself. */
export class InvalidSigningSecretError extends Error {
  constructor() {
    super('The signing secret must be "whsec_" followed by non-empty base64.');
    this.name = 'InvalidSigningSecretError';
  }
}

/** A message body as bytes or as a string (taken as UTF-8). */
export type SignedBody = string | Uint8Array;

/** A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a Standard Webhooks secret, or null if it is not valid base64 (prefix optional, as the spec's libraries accept). */
function standardWebhookKey(secret: string): Buffer | null {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length % 4 !== 0 || !STRICT_BASE64.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length > 0 ? key : null;
}

function bodyBytes(body: SignedBody): Buffer {
  return typeof body === 'string'
    ? Buffer.from(body, 'utf8')
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function standardWebhookDigest(key: Buffer, id: string, timestamp: number, body: SignedBody): string {
  return createHmac('sha256', key)
    .update(`${id}.${timestamp}.`, 'utf8')
    .update(bodyBytes(body))
    .digest('base64');
}

/**
 * Signs a message the Standard Webhooks way; the result is one entry of the `webhook-signature` header.
 * @param timestamp seconds since the epoch, sent as `webhook-timestamp`
 * @throws InvalidSigningSecretError when the secret is not `whsec_` + base64
 */
export function signStandardWebhook(input: {
  id: string;
  timestamp: number;
  body: SignedBody;
  secret: string;
}): string {
  const key = standardWebhookKey(input.secret);
  if (!key) throw new InvalidSigningSecretError();
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new RangeError('The webhook timestamp must be a whole, non-negative number of seconds.');
  }
  return `${SIGNATURE_VERSION},${standardWebhookDigest(key, input.id, input.timestamp, input.body)}`;
}

function parseTimestamp(timestamp: number | string): number | null {
  if (typeof timestamp === 'number') {
    return Number.isSafeInteger(timestamp) && timestamp >= 0 ? timestamp : null;
  }
  if (!TIMESTAMP_PATTERN.test(timestamp)) return null;
  const seconds = Number(timestamp);
  return Number.isSafeInteger(seconds) ? seconds : null;
}

/** Compares two strings in time independent of their content (only of their lengths). */
function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Verifies a Standard Webhooks message. True when the timestamp is within `toleranceSeconds` of `now`
 * (either side) and any `v1` signature in the space-separated header matches any of the `secrets`
 * (several secrets allow rotation). Entries of other versions are ignored. Anything malformed — header,
 * timestamp, id or a secret — yields false (or skips that secret); it never throws.
 * @param timestamp the `webhook-timestamp` header (canonical decimal seconds) or a number
 */
export function verifyStandardWebhook(input: {
  id: string;
  timestamp: number | string;
  body: SignedBody;
  signatureHeader: string;
  secrets: readonly string[];
  now: Date;
  toleranceSeconds?: number;
}): boolean {
  const { id, body, signatureHeader, secrets, now } = input;
  const toleranceSeconds = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (typeof id !== 'string' || id.length === 0 || typeof signatureHeader !== 'string') return false;

  const timestamp = parseTimestamp(input.timestamp);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (timestamp === null || !Number.isFinite(nowSeconds)) return false;
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;

  const presented: string[] = [];
  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== SIGNATURE_VERSION) continue;
    const signature = entry.slice(comma + 1);
    if (signature.length > 0) presented.push(signature);
  }
  if (presented.length === 0) return false;

  let matched = false;
  for (const secret of secrets) {
    const key = typeof secret === 'string' ? standardWebhookKey(secret) : null;
    if (!key) continue;
    const expected = standardWebhookDigest(key, id, timestamp, body);
    // Every pair is compared, so timing does not reveal which secret or entry matched.
    for (const signature of presented) {
      if (constantTimeEqual(signature, expected)) matched = true;
    }
  }
  return matched;
}

/**
 * The reference's scheme: lowercase hex HMAC-SHA256 of the body, keyed with the secret's UTF-8 bytes
 * exactly as given (no decoding, no prefix stripping).
 */
export function signHexHmac(body: SignedBody, secretUtf8: string): string {
  return createHmac('sha256', Buffer.from(secretUtf8, 'utf8')).update(bodyBytes(body)).digest('hex');
}

/**
 * Verifies the reference's hex signature (with or without a `sha256=` prefix, any hex case) against
 * each of `secrets`. Empty secrets never match. Never throws.
 */
export function verifyHexHmac(body: SignedBody, signatureHex: string, secrets: readonly string[]): boolean {
  if (typeof signatureHex !== 'string') return false;
  const trimmed = signatureHex.trim();
  const hex = trimmed.toLowerCase().startsWith(HEX_PREFIX) ? trimmed.slice(HEX_PREFIX.length) : trimmed;
  if (!HEX_SIGNATURE_PATTERN.test(hex)) return false;
  const presented = Buffer.from(hex, 'hex');

  let matched = false;
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length === 0) continue;
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(bodyBytes(body)).digest();
    if (timingSafeEqual(presented, expected)) matched = true;
  }
  return matched;
}
