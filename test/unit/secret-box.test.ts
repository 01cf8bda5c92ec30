import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretBox, SecretBoxError } from '../../shared/adapters/local-secret-box.js';

const SECRET = 'whsec_c2VjcmV0LXRoYXQtbXVzdC1zdGF5LWhpZGRlbg==';

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'secret-box-'));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function openError(box: LocalSecretBox, sealed: string, context: Record<string, string>) {
  try {
    await box.open(sealed, context);
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Replaces one base64url part of a sealed value with the same bytes, one bit flipped. */
function flipBit(sealed: string, partIndex: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[partIndex] ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  parts[partIndex] = bytes.toString('base64url');
  return parts.join('.');
}

describe('LocalSecretBox', () => {
  it('opens what it sealed, with the same context', async () => {
    // Prepare
    const box = new LocalSecretBox(randomBytes(32));
    const context = { entity: 'agent-1', purpose: 'signing' };

    // Act
    const sealed = await box.seal(SECRET, context);
    const opened = await box.open(sealed, { purpose: 'signing', entity: 'agent-1' });

    // Assess
    expect(opened).toBe(SECRET);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain(SECRET);
  });

  it('round-trips non-ASCII and empty plaintexts', async () => {
    // Prepare
    const box = new LocalSecretBox(randomBytes(32));
    const plaintexts = ['', 'clé secrète 🔑', 'x'.repeat(4096)];

    // Act
    const opened = await Promise.all(
      plaintexts.map(async (plaintext) => box.open(await box.seal(plaintext, { k: 'v' }), { k: 'v' })),
    );

    // Assess
    expect(opened).toEqual(plaintexts);
  });

  it('seals the same plaintext differently each time (fresh IV)', async () => {
    // Prepare
    const box = new LocalSecretBox(randomBytes(32));

    // Act
    const first = await box.seal(SECRET, { entity: 'a' });
    const second = await box.seal(SECRET, { entity: 'a' });

    // Assess
    expect(first).not.toBe(second);
  });

  it.each([
    ['another owner', { entity: 'agent-2' }],
    ['an extra entry', { entity: 'agent-1', extra: 'x' }],
    ['no context', {}],
    ['the value under another key name', { webhook: 'agent-1' }],
  ])('refuses to open a value under %s', async (_label, otherContext) => {
    // Prepare
    const box = new LocalSecretBox(randomBytes(32));
    const sealed = await box.seal(SECRET, { entity: 'agent-1' });

    // Act
    const error = await openError(box, sealed, otherContext);

    // Assess
    expect(error).toBeInstanceOf(SecretBoxError);
    expect((error as Error).message).not.toContain(SECRET);
  });

  it.each([
    ['the IV', 1],
    ['the ciphertext', 2],
    ['the tag', 3],
  ])('detects tampering with %s', async (_label, partIndex) => {
    // Prepare
    const box = new LocalSecretBox(randomBytes(32));
    const sealed = await box.seal(SECRET, { entity: 'agent-1' });
    const tampered = flipBit(sealed, partIndex);

    // Act
    const error = await openError(box, tampered, { entity: 'agent-1' });

    // Assess
    expect(tampered).not.toBe(sealed);
    expect(error).toBeInstanceOf(SecretBoxError);
    expect((error as Error).name).toBe('SecretBoxError');
    expect((error as Error).message).toBe(
      'The sealed secret cannot be opened: it was sealed under another key or context, or altered.',
    );
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not-a-sealed-value'],
    ['another version', 'v2.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['missing a part', 'v1.AAAAAAAAAAAAAAAA.AAAA'],
    ['a short IV', 'v1.AAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['a short tag', 'v1.AAAAAAAAAAAAAAAA.AAAA.AAAA'],
    ['non-base64url characters', 'v1.AAAAAAAAAAAAAAAA.AA+/.AAAAAAAAAAAAAAAAAAAAAA'],
    ['a KMS value', 'kms1.AQICAHh4'],
  ])('throws SecretBoxError for a sealed value that is %s', async (_label, sealed) => {
    // Prepare
    const box = new LocalSecretBox(randomBytes(32));

    // Act
    const error = await openError(box, sealed, { entity: 'agent-1' });

    // Assess
    expect(error).toBeInstanceOf(SecretBoxError);
  });

  it("cannot open another key's values", async () => {
    // Prepare
    const mine = new LocalSecretBox(randomBytes(32));
    const theirs = new LocalSecretBox(randomBytes(32));
    const sealed = await theirs.seal(SECRET, { entity: 'agent-1' });

    // Act
    const error = await openError(mine, sealed, { entity: 'agent-1' });

    // Assess
    expect(error).toBeInstanceOf(SecretBoxError);
    expect(await theirs.open(sealed, { entity: 'agent-1' })).toBe(SECRET);
  });

  it('refuses a key that is not 32 bytes', () => {
    // Prepare
    const shortKey = randomBytes(16);

    // Act
    const create = () => new LocalSecretBox(shortKey);

    // Assess
    expect(create).toThrow(SecretBoxError);
  });

  describe('fromKeyFile', () => {
    it('creates a 32-byte key, owner-only (0600) in an owner-only directory (0700), on first use', async () => {
      // Prepare
      const keyDir = join(workDir, 'nested', 'keys');
      const keyPath = join(keyDir, 'secret.key');

      // Act
      await LocalSecretBox.fromKeyFile(keyPath);

      // Assess
      const fileStat = await stat(keyPath);
      const dirStat = await stat(keyDir);
      expect(fileStat.mode & 0o777).toBe(0o600);
      expect(dirStat.mode & 0o777).toBe(0o700);
      const key = Buffer.from((await readFile(keyPath, 'utf8')).trim(), 'base64');
      expect(key).toHaveLength(32);
    });

    it('reuses the key on later uses, so values sealed before still open', async () => {
      // Prepare
      const keyPath = join(workDir, 'secret.key');
      const first = await LocalSecretBox.fromKeyFile(keyPath);
      const keyBefore = await readFile(keyPath, 'utf8');
      const sealed = await first.seal(SECRET, { entity: 'agent-1' });

      // Act
      const second = await LocalSecretBox.fromKeyFile(keyPath);
      const opened = await second.open(sealed, { entity: 'agent-1' });

      // Assess
      expect(opened).toBe(SECRET);
      expect(await readFile(keyPath, 'utf8')).toBe(keyBefore);
    });

    it('gives every box created at once the same key', async () => {
      // Prepare
      const keyPath = join(workDir, 'secret.key');

      // Act
      const boxes = await Promise.all(Array.from({ length: 5 }, () => LocalSecretBox.fromKeyFile(keyPath)));
      const sealed = await boxes[0]?.seal(SECRET, { entity: 'a' });
      const opened = await Promise.all(boxes.map((box) => box.open(sealed ?? '', { entity: 'a' })));

      // Assess
      expect(opened).toEqual(boxes.map(() => SECRET));
    });

    it('keeps key files apart: a box cannot open values of another key file', async () => {
      // Prepare
      const boxA = await LocalSecretBox.fromKeyFile(join(workDir, 'a.key'));
      const boxB = await LocalSecretBox.fromKeyFile(join(workDir, 'b.key'));
      const sealed = await boxA.seal(SECRET, { entity: 'agent-1' });

      // Act
      const error = await openError(boxB, sealed, { entity: 'agent-1' });

      // Assess
      expect(error).toBeInstanceOf(SecretBoxError);
    });

    it('refuses a key file that does not hold a 32-byte key, without quoting it', async () => {
      // Prepare
      const keyPath = join(workDir, 'bad.key');
      const content = randomBytes(16).toString('base64');
      await writeFile(keyPath, content, { mode: 0o600 });

      // Act
      let thrown: unknown;
      try {
        await LocalSecretBox.fromKeyFile(keyPath);
      } catch (error) {
        thrown = error;
      }

      // Assess
      expect(thrown).toBeInstanceOf(SecretBoxError);
      expect((thrown as Error).message).not.toContain(content);
    });
  });
});
