import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretBox } from '../ports.js';

const FORMAT_VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * A sealed secret that cannot be opened (malformed, tampered with, sealed under another key or
 * context) or a key that cannot be used. Messages never carry plaintext or key material.
 */
export class SecretBoxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretBoxError';
  }
}

/**
 * The context as additional authenticated data: canonical JSON of its entries sorted by key, so the
 * same context always gives the same bytes and a value moved to another owner fails to open.
 */
export function contextAad(context: Record<string, string>): Buffer {
  const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function isNodeError(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/**
 * `SecretBox` for the local runtime: AES-256-GCM under a key kept in a local file. Sealed values read
 * `v1.<iv>.<ciphertext>.<tag>` (base64url), with the context bound as AAD.
 */
export class LocalSecretBox implements SecretBox {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.byteLength !== KEY_BYTES) {
      throw new SecretBoxError(`The local secret key must be ${KEY_BYTES} bytes.`);
    }
    this.key = Buffer.from(key);
  }

  /**
   * Reads the key from `path` (base64 text), creating it on first use: 32 random bytes, the file
   * readable by its owner only (0600) in a directory created owner-only (0700).
   */
  static async fromKeyFile(path: string): Promise<LocalSecretBox> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    try {
      return new LocalSecretBox(await readKey(path));
    } catch (error) {
      if (!isNodeError(error, 'ENOENT')) throw error;
    }
    const key = randomBytes(KEY_BYTES);
    // Written whole to a private temporary file, then linked into place: `link` fails if another process
    // created the key meanwhile (then its key is the one to use), and no reader ever sees a partial file.
    const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      // The mode given at creation is narrowed by the umask only; make it exact.
      await chmod(temporary, 0o600);
      await link(temporary, path);
    } catch (error) {
      if (!isNodeError(error, 'EEXIST')) throw error;
      return new LocalSecretBox(await readKey(path));
    } finally {
      await rm(temporary, { force: true });
    }
    return new LocalSecretBox(key);
  }

  async seal(plaintext: string, context: Record<string, string>): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(contextAad(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT_VERSION, iv, ciphertext, tag]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  async open(sealed: string, context: Record<string, string>): Promise<string> {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    const [version, ivText, ciphertextText, tagText] = parts;
    if (
      parts.length !== 4 ||
      version !== FORMAT_VERSION ||
      ivText === undefined ||
      ciphertextText === undefined ||
      tagText === undefined ||
      ![ivText, ciphertextText, tagText].every((part) => BASE64URL.test(part))
    ) {
      throw new SecretBoxError('The sealed secret is malformed.');
    }
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SecretBoxError('The sealed secret is malformed.');
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(contextAad(context));
      decipher.setAuthTag(tag);
      const ciphertext = Buffer.from(ciphertextText, 'base64url');
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SecretBoxError(
        'The sealed secret cannot be opened: it was sealed under another key or context, or altered.',
        { cause: error },
      );
    }
  }
}

async function readKey(path: string): Promise<Buffer> {
  const text = (await readFile(path, 'utf8')).trim();
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text) {
    throw new SecretBoxError(
      `The local secret key file ${path} does not hold a base64 ${KEY_BYTES}-byte key.`,
    );
  }
  return key;
}
