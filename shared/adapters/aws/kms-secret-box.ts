import {
  DecryptCommand,
  EncryptCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  type KMSClient,
} from '@aws-sdk/client-kms';
import type { SecretBox } from '../../ports.js';
import { SecretBoxError } from '../local-secret-box.js';

const PREFIX = 'kms1.';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * `SecretBox` on AWS: each secret is encrypted directly with the KMS key. The secrets sealed here
 * (signing and webhook secrets) are far below KMS Encrypt's 4 KB plaintext limit, so no data key
 * (envelope) is needed. The context is passed as the KMS encryption context: it is authenticated,
 * must be given again to decrypt, and appears in CloudTrail (so it must never hold secrets itself).
 */
export class KmsSecretBox implements SecretBox {
  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {}

  async seal(plaintext: string, context: Record<string, string>): Promise<string> {
    const result = await this.client.send(
      new EncryptCommand({
        KeyId: this.keyId,
        Plaintext: Buffer.from(plaintext, 'utf8'),
        EncryptionContext: context,
      }),
    );
    if (!result.CiphertextBlob) throw new SecretBoxError('KMS returned no ciphertext.');
    return `${PREFIX}${Buffer.from(result.CiphertextBlob).toString('base64')}`;
  }

  /**
   * @throws SecretBoxError when the value is malformed or KMS refuses it (wrong key or context, altered);
   * other KMS errors (throttling, network) are passed on unchanged since they are transient.
   */
  async open(sealed: string, context: Record<string, string>): Promise<string> {
    const encoded =
      typeof sealed === 'string' && sealed.startsWith(PREFIX) ? sealed.slice(PREFIX.length) : '';
    if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) {
      throw new SecretBoxError('The sealed secret is malformed.');
    }
    try {
      const result = await this.client.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(encoded, 'base64'),
          EncryptionContext: context,
          KeyId: this.keyId,
        }),
      );
      if (!result.Plaintext) throw new SecretBoxError('KMS returned no plaintext.');
      return Buffer.from(result.Plaintext).toString('utf8');
    } catch (error) {
      if (error instanceof InvalidCiphertextException || error instanceof IncorrectKeyException) {
        throw new SecretBoxError(
          'The sealed secret cannot be opened: it was sealed under another key or context, or altered.',
          { cause: error },
        );
      }
      throw error;
    }
  }
}
