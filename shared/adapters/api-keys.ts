import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyVerifier } from '../ports.js';

const KEY_PREFIX = 'sjk_';

/** A new API key: a recognisable prefix and 256 random bits, URL-safe. */
export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Verifies keys against SHA-256 hashes only; the plain keys are never kept. Hashing first gives
 * equal-length buffers, so the comparison is constant-time whatever the presented key's length, and
 * every stored hash is compared so timing does not reveal which one matched.
 */
export class HashedApiKeys implements ApiKeyVerifier {
  private readonly hashes: readonly Buffer[];

  constructor(hashes: readonly Buffer[]) {
    this.hashes = hashes;
  }

  static fromKeys(keys: readonly string[]): HashedApiKeys {
    return new HashedApiKeys(keys.filter((key) => key.length > 0).map(hashApiKey));
  }

  async verify(presentedKey: string): Promise<boolean> {
    const presented = hashApiKey(presentedKey);
    let matched = false;
    for (const hash of this.hashes) {
      if (timingSafeEqual(presented, hash)) matched = true;
    }
    return matched;
  }
}
