import type { SecretBox } from '../ports.js';

/**
 * Remembers what `open` returned for a short while, so a busy webhook or worker function does not call
 * KMS for every delivery or run. Keyed by the sealed value and its context, so a rotated secret (a new
 * sealed value) is never answered from the cache; entries expire after `ttlMs`, and at most
 * `maxEntries` are kept.
 */
export class CachingSecretBox implements SecretBox {
  private readonly opened = new Map<string, { plaintext: string; expiresAt: number }>();

  constructor(
    private readonly inner: SecretBox,
    private readonly options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {},
  ) {}

  seal(plaintext: string, context: Record<string, string>): Promise<string> {
    return this.inner.seal(plaintext, context);
  }

  async open(sealed: string, context: Record<string, string>): Promise<string> {
    const now = (this.options.now ?? Date.now)();
    const key = JSON.stringify([sealed, Object.entries(context).sort()]);
    const hit = this.opened.get(key);
    if (hit && hit.expiresAt > now) return hit.plaintext;
    const plaintext = await this.inner.open(sealed, context);
    if (this.opened.size >= (this.options.maxEntries ?? 1000)) {
      const oldest = this.opened.keys().next().value;
      if (oldest !== undefined) this.opened.delete(oldest);
    }
    this.opened.set(key, { plaintext, expiresAt: now + (this.options.ttlMs ?? 300_000) });
    return plaintext;
  }
}
