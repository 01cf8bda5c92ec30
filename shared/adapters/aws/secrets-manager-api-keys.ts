import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ApiKeyMatch, ApiKeyVerifier } from '../../ports.js';
import { HashedApiKeys } from '../api-keys.js';

/** How long a fetched key is trusted before it is read again, so a rotated key takes effect without a deploy. */
const REFRESH_MS = 5 * 60 * 1000;

/**
 * The deployment's own API keys, held in a Secrets Manager secret (one key, or several separated by
 * newlines), each `admin`. Only their hashes stay in memory; they are re-read every few minutes.
 */
export class SecretsManagerApiKeys implements ApiKeyVerifier {
  private cached: { verifier: HashedApiKeys; loadedAt: number } | undefined;
  private loading: Promise<HashedApiKeys> | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(presentedKey: string): Promise<ApiKeyMatch | null> {
    return (await this.current()).verify(presentedKey);
  }

  private async current(): Promise<HashedApiKeys> {
    if (this.cached && this.now() - this.cached.loadedAt < REFRESH_MS) return this.cached.verifier;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    if (!this.cached) return this.loading;
    // A failed refresh keeps the keys already known rather than locking every caller out.
    const stale = this.cached.verifier;
    return this.loading.catch(() => stale);
  }

  private async load(): Promise<HashedApiKeys> {
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    const keys = (result.SecretString ?? '').split('\n').map((key) => key.trim());
    const verifier = HashedApiKeys.fromKeys(keys);
    this.cached = { verifier, loadedAt: this.now() };
    return verifier;
  }
}
