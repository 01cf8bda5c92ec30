/**
 * Standard Webhooks verification with node:crypto alone, shared by the example receivers (agent.ts,
 * alert-receiver.ts): copy this file next to your own receiver.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** How far `webhook-timestamp` may be from now, either way: older deliveries are refused as replays. */
const TOLERANCE_SECONDS = 300;

/** A header's value (the first, if it was sent more than once). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The secret from environment variable `variable`, as a verifier of deliveries signed with it; exits
 * with a message when the variable does not hold a `whsec_…` secret.
 *
 * `webhook-signature` holds space-separated `v1,<base64>` entries, each an HMAC-SHA256 of
 * `${webhook-id}.${webhook-timestamp}.${body}` over the exact bytes received.
 */
export function verifierFromEnv(
  variable: string,
  whose: string,
): (headers: IncomingHttpHeaders, rawBody: Buffer) => boolean {
  const secret = process.env[variable] ?? '';
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
    console.error(`Set ${variable} to the ${whose} signing secret ("whsec_…").`);
    process.exit(1);
  }
  // The HMAC key is the base64-decoded part after "whsec_", not the string itself.
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return (headers, rawBody) => {
    const id = header(headers, 'webhook-id');
    const timestamp = header(headers, 'webhook-timestamp');
    const signatures = header(headers, 'webhook-signature');
    if (!id || !timestamp || !signatures || !/^\d{1,12}$/.test(timestamp)) return false;
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(rawBody).digest();
    return signatures.split(' ').some((entry) => {
      const [version, signature] = entry.split(',');
      if (version !== 'v1' || !signature) return false;
      const presented = Buffer.from(signature, 'base64');
      // timingSafeEqual needs equal lengths; comparing in constant time hides how much of a guess matched.
      return presented.length === expected.length && timingSafeEqual(presented, expected);
    });
  };
}
