import { describe, expect, it } from 'vitest';
import { CachingSecretBox } from '../../shared/adapters/caching-secret-box.js';
import type { SecretBox } from '../../shared/ports.js';

/** A box that counts opens and refuses a context other than the one a value was sealed with. */
function countingBox() {
  const calls = { open: 0 };
  const box: SecretBox = {
    seal: async (plaintext, context) => `${JSON.stringify(context)}|${plaintext}`,
    open: async (sealed, context) => {
      calls.open++;
      const [sealedContext, plaintext] = sealed.split('|') as [string, string];
      if (sealedContext !== JSON.stringify(context)) throw new Error('wrong context');
      return plaintext;
    },
  };
  return { box, calls };
}

describe('CachingSecretBox', () => {
  it('opens each sealed value once within the TTL, again after it, and never across contexts', async () => {
    // Prepare
    const { box, calls } = countingBox();
    let now = 0;
    const cache = new CachingSecretBox(box, { ttlMs: 1000, now: () => now });
    const sealed = await cache.seal('s3cret', { job: 'a' });

    // Act
    const first = await cache.open(sealed, { job: 'a' });
    const second = await cache.open(sealed, { job: 'a' });
    const otherContext = cache.open(sealed, { job: 'b' });
    await expect(otherContext).rejects.toThrow('wrong context');
    now = 1001;
    const afterTtl = await cache.open(sealed, { job: 'a' });

    // Assess
    expect([first, second, afterTtl]).toEqual(['s3cret', 's3cret', 's3cret']);
    expect(calls.open).toBe(3);
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    // Prepare
    const { box, calls } = countingBox();
    const cache = new CachingSecretBox(box, { maxEntries: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((value) => cache.seal(value, { k: value })));

    // Act
    await cache.open(a as string, { k: 'a' });
    await cache.open(b as string, { k: 'b' });
    await cache.open(c as string, { k: 'c' });
    await cache.open(c as string, { k: 'c' });
    await cache.open(a as string, { k: 'a' });

    // Assess: a was evicted by c, so it is opened twice; c is served from the cache.
    expect(calls.open).toBe(4);
  });
});
