import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DEPLOYMENT_KEY_NAME } from '../domain/access.js';
import type { ApiKeyMatch, ApiKeyVerifier } from '../ports.js';

const KEY_PREFIX = 'sjk_';

/** A new API key: a recognisable prefix and 256 random bits, URL-safe. */
export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Whether `presented` (a SHA-256 hash) is one of `hashes`: every one compared, in constant time each. */
export function matchesAnyHash(presented: Buffer, hashes: readonly Buffer[]): boolean {
  let matched = false;
  for (const hash of hashes) {
    if (hash.length === presented.length && timingSafeEqual(presented, hash)) matched = true;
  }
  return matched;
}

/** The deployment's own key, whoever holds it: it may do everything. */
const DEPLOYMENT_KEY: ApiKeyMatch = { name: DEPLOYMENT_KEY_NAME, scope: 'admin' };

/**
 * The deployment's own keys (the Secrets Manager secret's lines on AWS, the key `npm start` prints),
 * each `admin` and named `deployment`. Verifies against SHA-256 hashes only; the plain keys are never
 * kept. Hashing first gives equal-length buffers, so the comparison is constant-time whatever the
 * presented key's length, and every stored hash is compared so timing does not reveal which one matched.
 */
export class HashedApiKeys implements ApiKeyVerifier {
  private readonly hashes: readonly Buffer[];

  constructor(hashes: readonly Buffer[]) {
    this.hashes = hashes;
  }

  static fromKeys(keys: readonly string[]): HashedApiKeys {
    return new HashedApiKeys(keys.filter((key) => key.length > 0).map(hashApiKey));
  }

  async verify(presentedKey: string): Promise<ApiKeyMatch | null> {
    return matchesAnyHash(hashApiKey(presentedKey), this.hashes) ? DEPLOYMENT_KEY : null;
  }
}
