import type { ApiKey, ApiKeyWithSecret, Scope } from '../shared/domain/access.js';
import type { Transport } from './http.js';
import { path } from './paging.js';

/** `client.apiKeys`: the deployment's scoped API keys (an admin credential is needed for each call). */
export class ApiKeysResource {
  /** @internal Built by `ControlPlaneClient`. */
  constructor(private readonly transport: Transport) {}

  /**
   * Creates a key: `POST /api-keys`. The answer holds the key, shown this once. Never retried.
   * @example
   * const { key } = await client.apiKeys.create('deploy-pipeline', 'trigger');
   * @throws ConflictError when the name is taken; ValidationError for a bad name or scope.
   */
  create(name: string, scope: Scope): Promise<ApiKeyWithSecret> {
    return this.transport.request('POST', '/api-keys', { body: { name, scope } });
  }

  /**
   * Every key (never the keys themselves), oldest first: `GET /api-keys`. Retried.
   * @example
   * for (const key of await client.apiKeys.list()) console.log(key.name, key.scope, key.last_used_at);
   */
  async list(): Promise<ApiKey[]> {
    const answer = await this.transport.request<{ api_keys: ApiKey[] }>('GET', '/api-keys');
    return answer.api_keys;
  }

  /**
   * Revokes a key, everywhere within a minute: `DELETE /api-keys/{name}`. Retried. @throws NotFoundError.
   * @example
   * await client.apiKeys.delete('deploy-pipeline');
   */
  delete(name: string): Promise<void> {
    return this.transport.request('DELETE', path('api-keys', name), {
      idempotent: true,
      notFoundOnRetryIsDone: true,
    });
  }
}
