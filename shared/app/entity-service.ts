import { changedFields } from '../domain/audit.js';
import { awsTargetResource } from '../domain/aws-targets.js';
import {
  ENTITY_ID_PATTERN,
  type Entity,
  type EntityCreate,
  type EntityPatch,
  type EntityTarget,
  type EntityWithSecret,
} from '../domain/entity.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { generateSigningSecret } from '../domain/signature.js';
import { ipLiteralHost, refuseAddress } from '../domain/target-network.js';
import type {
  Clock,
  DeploymentConfig,
  EntityPage,
  EntityStore,
  IdGenerator,
  Logger,
  SecretBox,
} from '../ports.js';
import type { ChangeRecorder } from './audit-trail.js';
import { type Deferred, readDeferred } from './deferred.js';

export interface EntityServiceDeps {
  entities: EntityStore;
  /**
   * Which networks `http` targets may point at, and which state machines, queues and buses the AWS kinds
   * may name (any, when `open`).
   */
  deployment: Pick<DeploymentConfig, 'allowedTargetNetworks' | 'awsTargets' | 'open'>;
  secrets: SecretBox;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** Records every change: who, when, which fields. */
  audit: ChangeRecorder;
}

const MAX_WRITE_ATTEMPTS = 5;

/** What the secret box binds an entity's signing secret to. */
export const entitySecretContext = (entityId: string) => ({
  purpose: 'entity-signing-secret',
  entity: entityId,
});

/**
 * Agents, teams and workflows with their invocation targets. An http target gets a signing secret,
 * returned once by the call that created it and kept sealed by the secret box.
 */
export class EntityService {
  constructor(private readonly deps: EntityServiceDeps) {}

  async create(input: EntityCreate): Promise<Entity | EntityWithSecret> {
    this.checkTarget(input.target);
    const now = this.deps.clock.now().toISOString();
    const entity: Entity = {
      id: input.id ?? this.deps.ids.entityId(),
      type: input.type,
      name: input.name,
      description: input.description ?? null,
      target: input.target,
      default: input.default ?? false,
      created_at: now,
      updated_at: now,
    };
    const secret = entity.target.type === 'http' ? generateSigningSecret() : null;
    const sealed =
      secret === null ? null : await this.deps.secrets.seal(secret, entitySecretContext(entity.id));
    if (!(await this.deps.entities.create(entity, sealed))) {
      throw new ConflictError(`An entity with id "${entity.id}" already exists.`);
    }
    this.deps.logger.info('entity created', { entityId: entity.id, targetType: entity.target.type });
    await this.deps.audit.record({
      resource: { type: 'entity', id: entity.id },
      action: 'created',
      changedFields: [...Object.keys(input), ...(secret === null ? [] : ['signing_secret'])].sort(),
    });
    return secret === null ? entity : { ...entity, signing_secret: secret };
  }

  async get(id: string): Promise<Entity> {
    if (!ENTITY_ID_PATTERN.test(id)) throw entityNotFound(id);
    const stored = await this.deps.entities.get(id);
    if (!stored) throw entityNotFound(id);
    return stored.entity;
  }

  list(options: { limit: number; cursor?: string }): Promise<EntityPage> {
    return this.deps.entities.list(options);
  }

  /**
   * Partial update. Switching to an http target from another kind creates its signing secret, shown in
   * this answer. The patch is read once the id is one an entity can have (a malformed id is a 404
   * whatever the patch holds).
   */
  async update(id: string, input: Deferred<EntityPatch>): Promise<Entity | EntityWithSecret> {
    if (!ENTITY_ID_PATTERN.test(id)) throw entityNotFound(id);
    const patch = readDeferred(input);
    if (patch.target) this.checkTarget(patch.target);
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const stored = await this.deps.entities.get(id);
      if (!stored) throw entityNotFound(id);
      const target: EntityTarget = patch.target ?? stored.entity.target;
      const next: Entity = {
        ...stored.entity,
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.default !== undefined && { default: patch.default }),
        target,
        updated_at: this.deps.clock.now().toISOString(),
      };
      let secret: string | null = null;
      let sealed = stored.sealedSecret;
      if (target.type !== 'http') sealed = null;
      else if (sealed === null) {
        secret = generateSigningSecret();
        sealed = await this.deps.secrets.seal(secret, entitySecretContext(id));
      }
      const written = await this.deps.entities.replace(next, sealed, stored.version);
      if (written) {
        this.deps.logger.info('entity updated', { entityId: id });
        const { updated_at: _before, ...before } = stored.entity;
        const { updated_at: _after, ...after } = written.entity;
        await this.deps.audit.record({
          resource: { type: 'entity', id },
          action: 'updated',
          changedFields: [...changedFields(before, after), ...(secret === null ? [] : ['signing_secret'])],
        });
        return secret === null ? written.entity : { ...written.entity, signing_secret: secret };
      }
    }
    throw new ConflictError(`Entity ${id} is being changed by other requests; try again.`);
  }

  private checkTarget(target: EntityTarget): void {
    this.checkTargetAddress(target);
    this.checkListedAwsResource(target);
  }

  /**
   * Refuses a `stepfunctions`, `sqs` or `eventbridge` target naming a resource the deployment does not list:
   * the workers' IAM grants exactly the listed ones, so any other could never run.
   */
  private checkListedAwsResource(target: EntityTarget): void {
    if (target.type !== 'stepfunctions' && target.type !== 'sqs' && target.type !== 'eventbridge') return;
    if (this.deps.deployment.open) return;
    const { field, value, setting } = awsTargetResource(target);
    const listed = this.deps.deployment.awsTargets?.[setting] ?? [];
    if (listed.includes(value)) return;
    throw new ValidationError([
      {
        path: `target.${field}`,
        message:
          `is not in this deployment's ${setting}: add it to ${setting} (infra/aws/config.ts, or jobs.config.json ` +
          'locally) and deploy, so that the workers may reach it',
        code: 'target_not_allowed',
      },
    ]);
  }

  /**
   * Refuses an `http` target whose host is an IP address it may not reach. A host name is left to the
   * worker, which checks what it resolves to when it connects (DNS answers change; this check cannot).
   */
  private checkTargetAddress(target: EntityTarget): void {
    if (target.type !== 'http') return;
    const host = ipLiteralHost(new URL(target.url));
    const refusal =
      host === null ? null : refuseAddress(host, this.deps.deployment.allowedTargetNetworks ?? []);
    if (!refusal) return;
    throw new ValidationError([
      { path: 'target.url', message: `points at ${refusal.reason}`, code: 'target_address_not_allowed' },
    ]);
  }

  async delete(id: string): Promise<void> {
    if (!ENTITY_ID_PATTERN.test(id)) throw entityNotFound(id);
    const outcome = await this.deps.entities.delete(id);
    if (outcome === 'not_found') throw entityNotFound(id);
    if (outcome === 'referenced') {
      throw new ConflictError(
        `Entity "${id}" is used by one or more jobs; point them elsewhere or delete them first.`,
      );
    }
    this.deps.logger.info('entity deleted', { entityId: id });
    await this.deps.audit.record({ resource: { type: 'entity', id }, action: 'deleted' });
  }
}

function entityNotFound(id: string): NotFoundError {
  return new NotFoundError(`No entity with id "${id.slice(0, 128)}".`);
}

export function noEntityError(): ValidationError {
  return new ValidationError([
    {
      path: 'entity_id',
      message:
        'is not set and the deployment has no default entity: create one with POST /entities and "default": true, or set entity_type and entity_id',
      code: 'no_default_entity',
    },
  ]);
}
