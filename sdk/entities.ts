import type {
  Entity,
  EntityCreateInput,
  EntityPatchInput,
  EntityTarget,
  EntityWithSecret,
} from '../shared/domain/entity.js';
import type { Transport } from './http.js';
import { type IterateOptions, paginate, path } from './paging.js';

/** One page of `entities.listPage`. */
export interface EntityListResponse {
  /** This page's entities, newest first. */
  entities: Entity[];
  /** Pass as `cursor` for the next page; `null` on the last. */
  next_cursor: string | null;
}

/** Options of `entities.listPage`. */
export interface EntityPageOptions {
  /** Page size, 1–100. @default 50 */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/**
 * `client.entities`: the agents, teams and workflows jobs run. Errors as for `client.jobs`.
 */
export class EntitiesResource {
  /** @internal Built by `ControlPlaneClient`. */
  constructor(private readonly transport: Transport) {}

  /**
   * Every entity, newest first: `GET /entities`, following `next_cursor`. Retried.
   * @example
   * const entities = await client.entities.list();
   * const fallback = entities.find((entity) => entity.default); // runs jobs that name no entity
   */
  async list(): Promise<Entity[]> {
    const entities: Entity[] = [];
    for await (const entity of this.iterate()) entities.push(entity);
    return entities;
  }

  /**
   * Every entity, newest first, a page at a time as the loop asks: `GET /entities`. Retried.
   * @example
   * for await (const entity of client.entities.iterate({ pageSize: 50 })) {
   *   console.log(entity.id, entity.type, entity.target.type);
   * }
   */
  iterate(options: IterateOptions = {}): AsyncGenerator<Entity, void, undefined> {
    const limit = options.pageSize ?? 100;
    return paginate(async (cursor) => {
      const page = await this.listPage({ limit, ...(cursor !== undefined && { cursor }) });
      return { items: page.entities, next: page.next_cursor };
    });
  }

  /**
   * One page of entities (`GET /entities`); pass `next_cursor` back as `cursor` for the next. Retried.
   * @example
   * const { entities, next_cursor } = await client.entities.listPage({ limit: 20 });
   * const more = next_cursor ? await client.entities.listPage({ limit: 20, cursor: next_cursor }) : null;
   */
  listPage(options: EntityPageOptions = {}): Promise<EntityListResponse> {
    return this.transport.request('GET', '/entities', { query: { ...options } });
  }

  /**
   * Creates an entity: `POST /entities`. For an http target the answer carries `signing_secret`, shown
   * only this once. Never retried.
   * @throws ValidationError naming each invalid field; ConflictError for an id in use.
   * @example
   * const entity = await client.entities.create({
   *   id: 'backup-agent',
   *   type: 'agent',
   *   name: 'Backup',
   *   target: { type: 'http', url: 'https://agents.example.com/run' },
   * });
   * // The secret the agent verifies requests with, shown in this answer only
   * if ('signing_secret' in entity) console.log(entity.signing_secret);
   */
  create(entity: EntityCreateInput): Promise<Entity | EntityWithSecret> {
    return this.transport.request('POST', '/entities', { body: entity });
  }

  /**
   * One entity: `GET /entities/{id}`. Retried. @throws NotFoundError.
   * @example
   * const entity = await client.entities.get('backup-agent');
   * console.log(entity.name, entity.target.type);
   */
  get(entityId: string): Promise<Entity> {
    return this.transport.request('GET', path('entities', entityId));
  }

  /**
   * Partial update: `PATCH /entities/{id}`. Retried, except a patch setting an `http` target: switching
   * to one mints a signing secret shown only in the first answer.
   * @throws NotFoundError, ValidationError, ConflictError.
   * @example
   * const entity = await client.entities.update('backup-agent', { name: 'Backups', description: null });
   * console.log(entity.name);
   */
  update(entityId: string, patch: EntityPatchInput): Promise<Entity | EntityWithSecret> {
    return this.transport.request('PATCH', path('entities', entityId), {
      body: patch,
      idempotent: patch.target?.type !== 'http',
    });
  }

  /**
   * Deletes an entity: `DELETE /entities/{id}`. Retried; a 404 on a retry counts as done.
   * @throws ConflictError while a job uses it; NotFoundError.
   * @example
   * import { ConflictError } from 'serverless-jobs/client';
   *
   * await client.entities.delete('backup-agent').catch((error: unknown) => {
   *   if (!(error instanceof ConflictError)) throw error;
   *   console.log('a job still runs on it');
   * });
   */
  delete(entityId: string): Promise<void> {
    return this.transport.request('DELETE', path('entities', entityId), {
      idempotent: true,
      notFoundOnRetryIsDone: true,
    });
  }
}

/**
 * One line naming what a target calls, as the CLI and the console show it.
 * @example
 * const entity = await client.entities.get('researcher');
 * console.log(describeTarget(entity.target)); // e.g. 'http https://agents.example.com/run'
 */
export function describeTarget(target: EntityTarget): string {
  switch (target.type) {
    case 'http':
      return `http ${target.url}`;
    case 'lambda':
      return `lambda ${target.function_name}${target.invocation === 'event' ? ' (event)' : ''}`;
    case 'stepfunctions':
      return `stepfunctions ${target.state_machine_arn}`;
    case 'sqs':
      return `sqs ${target.queue_url}`;
    case 'eventbridge':
      return `eventbridge ${target.event_bus_name}`;
    default:
      return target.type;
  }
}
