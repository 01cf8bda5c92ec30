import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateApiKey, HashedApiKeys, hashApiKey } from '../../shared/adapters/api-keys.js';

/** What the deployment's own key is known as: `admin`, named `deployment`. */
const DEPLOYMENT_KEY = { name: 'deployment', scope: 'admin' };

describe('generateApiKey', () => {
  it('starts with "sjk_" followed by at least 43 base64url characters', () => {
    // Prepare
    const format = /^sjk_[A-Za-z0-9_-]{43,}$/;

    // Act
    const key = generateApiKey();

    // Assess
    expect(key).toMatch(format);
  });

  it('carries 256 random bits', () => {
    // Prepare
    const key = generateApiKey();

    // Act
    const secret = Buffer.from(key.slice('sjk_'.length), 'base64url');

    // Assess
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(secret.toString('base64url')).toBe(key.slice('sjk_'.length));
  });

  it('never repeats a key', () => {
    // Prepare
    const count = 1000;

    // Act
    const keys = new Set(Array.from({ length: count }, () => generateApiKey()));

    // Assess
    expect(keys.size).toBe(count);
  });

  it('spreads its characters over the whole base64url alphabet', () => {
    // Prepare
    const keys = Array.from({ length: 200 }, () => generateApiKey().slice('sjk_'.length));

    // Act
    const characters = new Set(keys.join(''));

    // Assess
    // 200 keys × 43 characters draw from 64 symbols: missing any one would be astronomically unlikely.
    expect(characters.size).toBe(64);
  });
});

describe('hashApiKey', () => {
  it('is the SHA-256 digest of the key as UTF-8', () => {
    // Prepare
    const key = 'sjk_clé';

    // Act
    const hash = hashApiKey(key);

    // Assess
    expect(hash.length).toBe(32);
    expect(hash.equals(createHash('sha256').update(Buffer.from(key, 'utf8')).digest())).toBe(true);
  });

  it('differs for keys that differ by one character', () => {
    // Prepare
    const first = hashApiKey('test-key-a');

    // Act
    const second = hashApiKey('test-key-b');

    // Assess
    expect(first.equals(second)).toBe(false);
  });
});

describe('HashedApiKeys', () => {
  it('verifies the exact key', async () => {
    // Prepare
    const keys = HashedApiKeys.fromKeys(['test-key']);

    // Act
    const verified = await keys.verify('test-key');

    // Assess
    expect(verified).toEqual(DEPLOYMENT_KEY);
  });

  it.each([
    ['the empty string', ''],
    ['a prefix of the key', 'test-ke'],
    ['the first character', 't'],
    ['the key with a suffix', 'test-key-2'],
    ['the key with a trailing space', 'test-key '],
    ['the key with a leading space', ' test-key'],
    ['the key in another case', 'TEST-KEY'],
    ['a key of the same length', 'test-kez'],
    ['the key twice', 'test-keytest-key'],
    ['the key with a NUL appended', 'test-key\u0000'],
  ])('rejects %s', async (_label, presented) => {
    // Prepare
    const keys = HashedApiKeys.fromKeys(['test-key']);

    // Act
    const verified = await keys.verify(presented);

    // Assess
    expect(verified).toBeNull();
  });

  it('accepts each of several keys and nothing else', async () => {
    // Prepare
    const valid = [generateApiKey(), generateApiKey(), 'legacy-key'];
    const keys = HashedApiKeys.fromKeys(valid);

    // Act
    const results = await Promise.all(
      [...valid, generateApiKey(), 'legacy', ''].map((key) => keys.verify(key)),
    );

    // Assess
    expect(results).toEqual([DEPLOYMENT_KEY, DEPLOYMENT_KEY, DEPLOYMENT_KEY, null, null, null]);
  });

  it('verifies keys given only as hashes', async () => {
    // Prepare
    const key = generateApiKey();
    const keys = new HashedApiKeys([hashApiKey(key)]);

    // Act
    const [matching, other] = await Promise.all([keys.verify(key), keys.verify(generateApiKey())]);

    // Assess
    expect(matching).toEqual(DEPLOYMENT_KEY);
    expect(other).toBeNull();
  });

  it('never accepts the empty key, even when it is configured', async () => {
    // Prepare
    const keys = HashedApiKeys.fromKeys(['', 'test-key']);

    // Act
    const verified = await keys.verify('');

    // Assess
    expect(verified).toBeNull();
  });

  it('accepts nothing when no key is configured', async () => {
    // Prepare
    const keys = HashedApiKeys.fromKeys([]);

    // Act
    const results = await Promise.all(['', 'test-key', generateApiKey()].map((key) => keys.verify(key)));

    // Assess
    expect(results).toEqual([null, null, null]);
  });
});
