import { timingSafeEqual } from 'node:crypto';
import { generateApiKey, hashApiKey } from '../adapters/api-keys.js';
import {
  API_KEY_NAME_PATTERN,
  type ApiKey,
  type ApiKeyCreate,
  type ApiKeyWithSecret,
  MAX_API_KEYS,
} from '../domain/access.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { ApiKeyMatch, ApiKeyStore, ApiKeyVerifier, Clock, Logger, StoredApiKey } from '../ports.js';
import type { ChangeRecorder } from './audit-trail.js';

export interface ApiKeyServiceDeps {
  apiKeyStore: ApiKeyStore;
  /** The deployment's own keys (`admin`), checked before the stored ones. */
  apiKeys: ApiKeyVerifier;
  audit: ChangeRecorder;
  clock: Clock;
  logger: Logger;
}

/**
 * How long an instance trusts the stored keys it read: a key revoked on one function instance stops
 * working on every other within this time.
 */
export const API_KEY_CACHE_MS = 60_000;

/**
 * How often a key's `last_used_at` is written: at most once per this interval per key and function
 * instance (and the write is conditional, so instances that race write it once), rather than a write per
 * request. `last_used_at` is therefore accurate to the minute.
 */
export const LAST_USED_INTERVAL_MS = 60_000;

interface CachedKey {
  name: string;
  scope: StoredApiKey['scope'];
  hash: Buffer;
  lastUsedAt: number;
}

/**
 * Scoped API keys: created (shown once), listed, revoked; and, as the API's `ApiKeyVerifier`, the check
 * of a presented key against the deployment's own keys and then every stored one. The stored hashes are
 * read once per `API_KEY_CACHE_MS` per instance (one Query), compared in constant time, all of them, so
 * the time taken does not say which matched. A failed read fails the request rather than trusting
 * hashes older than the revocation promise.
 */
export class ApiKeyService implements ApiKeyVerifier {
  private cache: { keys: CachedKey[]; loadedAt: number } | undefined;
  private loading: Promise<CachedKey[]> | undefined;

  constructor(private readonly deps: ApiKeyServiceDeps) {}

  async verify(presentedKey: string): Promise<ApiKeyMatch | null> {
    const deploymentKey = await this.deps.apiKeys.verify(presentedKey);
    if (deploymentKey) return deploymentKey;
    const presented = hashApiKey(presentedKey);
    let matched: CachedKey | undefined;
    for (const key of await this.storedKeys()) {
      if (timingSafeEqual(presented, key.hash)) matched = key;
    }
    if (!matched) return null;
    await this.noteUse(matched);
    return { name: matched.name, scope: matched.scope };
  }

  async create(input: ApiKeyCreate): Promise<ApiKeyWithSecret> {
    const existing = await this.deps.apiKeyStore.list();
    if (existing.some((key) => key.name === input.name)) throw keyExists(input.name);
    if (existing.length >= MAX_API_KEYS) {
      throw new ConflictError(
        `This deployment already holds ${MAX_API_KEYS} API keys, the most it may; revoke one first.`,
      );
    }
    const key = generateApiKey();
    const stored: StoredApiKey = {
      name: input.name,
      scope: input.scope,
      keyHash: hashApiKey(key).toString('hex'),
      createdAt: this.deps.clock.now().toISOString(),
      lastUsedAt: null,
    };
    if (!(await this.deps.apiKeyStore.create(stored))) throw keyExists(input.name);
    this.cache = undefined;
    this.deps.logger.info('api key created', { apiKeyName: input.name, scope: input.scope });
    await this.deps.audit.record({
      resource: { type: 'api_key', id: input.name },
      action: 'created',
      changedFields: ['name', 'scope'],
    });
    return { ...present(stored), key };
  }

  /** Every stored key, oldest first, without hashes. */
  async list(): Promise<ApiKey[]> {
    const keys = await this.deps.apiKeyStore.list();
    return keys
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name))
      .map(present);
  }

  /** Revokes a key: at once on this instance, within `API_KEY_CACHE_MS` on every other. */
  async delete(name: string): Promise<void> {
    if (!API_KEY_NAME_PATTERN.test(name) || !(await this.deps.apiKeyStore.delete(name))) {
      throw new NotFoundError(`No API key named "${name.slice(0, 64)}".`);
    }
    this.cache = undefined;
    this.deps.logger.info('api key revoked', { apiKeyName: name });
    await this.deps.audit.record({ resource: { type: 'api_key', id: name }, action: 'deleted' });
  }

  private async storedKeys(): Promise<CachedKey[]> {
    const now = this.deps.clock.now().getTime();
    if (this.cache && now - this.cache.loadedAt < API_KEY_CACHE_MS) return this.cache.keys;
    this.loading ??= this.load(now).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(now: number): Promise<CachedKey[]> {
    const keys = (await this.deps.apiKeyStore.list()).map((key) => ({
      name: key.name,
      scope: key.scope,
      hash: Buffer.from(key.keyHash, 'hex'),
      lastUsedAt: key.lastUsedAt === null ? 0 : Date.parse(key.lastUsedAt),
    }));
    // A hash of another length could not be compared in constant time; none is ever written.
    const usable = keys.filter((key) => key.hash.length === 32);
    this.cache = { keys: usable, loadedAt: now };
    return usable;
  }

  /** Writes `last_used_at` when this instance has not recorded a use of the key within the interval. */
  private async noteUse(key: CachedKey): Promise<void> {
    const now = this.deps.clock.now();
    if (now.getTime() - key.lastUsedAt < LAST_USED_INTERVAL_MS) return;
    key.lastUsedAt = now.getTime();
    // A use recorded within the last interval (by any instance) makes this write a no-op.
    const notBefore = new Date(now.getTime() - LAST_USED_INTERVAL_MS + 1).toISOString();
    try {
      await this.deps.apiKeyStore.touch(key.name, now.toISOString(), notBefore);
    } catch (error) {
      // Only a timestamp: the request it belongs to goes on.
      this.deps.logger.warn('api key use not recorded', { apiKeyName: key.name, error });
    }
  }
}

function present(key: StoredApiKey): ApiKey {
  return { name: key.name, scope: key.scope, created_at: key.createdAt, last_used_at: key.lastUsedAt };
}

function keyExists(name: string): ConflictError {
  return new ConflictError(
    `An API key named "${name}" already exists; revoke it first or pick another name.`,
  );
}
