import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { webhookSecretContext } from '../../shared/app/job-service.js';
import type { AuthMode } from '../../shared/domain/access.js';
import { type ApiEventInput, type ApiResult, apiEvent, callApi, lambdaContext } from './api-events.js';
import { MemoryApiKeyStore, MemoryAuditLog } from './memory-access.js';
import { MemoryJobStore } from './memory-job-store.js';
import {
  FakeSecretBox,
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  makeEntity,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
  sequentialIds,
} from './memory-stores.js';
import { testApiHandler } from './services.js';

/** The deployment's own key in the access tests. */
export const DEPLOYMENT_KEY = 'sjk_deployment-key-for-tests';

export const ROLE_ARN = 'arn:aws:sts::123456789012:assumed-role/ops/alice';

/**
 * The API handler over in-memory stores, with the stores of keys and of the audit trail exposed, a
 * manual clock, and a default echo entity; `as(key)` calls it with a bearer key, `asIam` as an IAM
 * principal API Gateway authorized for `routeKey`.
 */
export function accessApi(options: { authMode?: AuthMode } = {}) {
  const clock = new ManualClock(Date.parse('2025-01-15T09:00:00.000Z'));
  const entities = new MemoryEntityStore();
  void entities.create(makeEntity({ id: 'echo', default: true, target: { type: 'echo' } }), null);
  const apiKeyStore = new MemoryApiKeyStore();
  const auditLog = new MemoryAuditLog();
  const metrics = new RecordingMetrics();
  const webhooks = new MemoryWebhookStore();
  const secrets = new FakeSecretBox();
  const handler = testApiHandler({
    jobStore: new MemoryJobStore({ entities }),
    webhooks,
    entities,
    executions: new MemoryExecutionStore(),
    queue: new RecordingQueue(),
    secrets,
    deployment: openDeployment(),
    apiKeys: HashedApiKeys.fromKeys([DEPLOYMENT_KEY]),
    apiKeyStore,
    auditLog,
    retentionDays: 90,
    ...(options.authMode && { authMode: options.authMode }),
    scheduler: new MemoryScheduler(),
    clock,
    ids: sequentialIds(clock),
    logger: createLogger({ level: 'silent' }),
    metrics,
  });
  const as = (key: string | null, input: ApiEventInput): Promise<ApiResult> =>
    callApi(handler, {
      ...input,
      headers: { ...input.headers, ...(key !== null && { authorization: `Bearer ${key}` }) },
    });
  const asIam = async (routeKey: string, input: ApiEventInput, arn = ROLE_ARN): Promise<ApiResult> => {
    const event = iamEvent(apiEvent(input), routeKey, arn);
    const response = await handler(event, lambdaContext());
    const body = response?.body ?? '';
    return {
      status: response?.statusCode ?? 200,
      headers: Object.fromEntries(
        Object.entries(response?.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
      ),
      body,
      json: body === '' ? undefined : (JSON.parse(body) as unknown),
    };
  };
  /** Creates a key of `scope` with the deployment's key and returns it. */
  const createKey = async (name: string, scope: 'read' | 'trigger' | 'admin'): Promise<string> => {
    const created = await as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/api-keys',
      body: JSON.stringify({ name, scope }),
    });
    if (created.status !== 201) throw new Error(`key not created: ${created.body}`);
    return (created.json as { key: string }).key;
  };
  /** The path record of a webhook job (the memory job store writes none), so its secret can be rotated. */
  const seedWebhook = async (job: { id: string; webhook_path: string; webhook_secret: string }) => {
    webhooks.records.set(job.webhook_path, {
      path: job.webhook_path,
      jobId: job.id,
      job: null,
      sealedSecret: await secrets.seal(job.webhook_secret, webhookSecretContext(job.id)),
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: null,
      lastSecretUsed: null,
    });
  };
  return { handler, clock, apiKeyStore, auditLog, metrics, as, asIam, createKey, seedWebhook };
}

/** `event` as API Gateway delivers it from a route with IAM authorization. */
export function iamEvent(
  event: APIGatewayProxyEventV2,
  routeKey: string,
  userArn: string,
): APIGatewayProxyEventV2 {
  return {
    ...event,
    routeKey,
    requestContext: {
      ...event.requestContext,
      routeKey,
      authorizer: {
        iam: {
          accessKey: 'ASIAEXAMPLE',
          accountId: '123456789012',
          callerId: 'AROAEXAMPLE:alice',
          cognitoIdentity: null,
          principalOrgId: 'o-example',
          userArn,
          userId: 'AROAEXAMPLE:alice',
        },
      },
    } as APIGatewayProxyEventV2['requestContext'],
  };
}
