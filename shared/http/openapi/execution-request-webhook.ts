import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { DEFAULT_HTTP_TARGET_TIMEOUT_SECONDS } from '../../adapters/http-target.js';
import { type ExecutionRequest, ExecutionRequestSchema } from '../../domain/execution.js';
import { DEFAULT_RUN_SETTINGS } from '../../domain/run-config.js';
import { DEFAULT_TOLERANCE_SECONDS, signStandardWebhook } from '../../domain/signature.js';
import { example, WEBHOOK_JOB_ID } from '../routes/examples.js';

/*
 * The `executionRequest` webhook of the document: what the service sends to an `http` target, not a
 * route it serves. Its example is signed as the worker signs, with a secret the description gives, so a
 * test can verify it with an independent Standard Webhooks library.
 */

const TARGET_EXECUTION_ID = 'exec_0m5z2b7qae1c4b7a0d3f6e9c2b5a8';
/** Unix seconds of the example request: 2025-01-15T10:00:00Z. */
const TARGET_TIMESTAMP = 1736935200;
/** The signing secret of the example's entity; the example `webhook-signature` verifies with it. */
const TARGET_SIGNING_SECRET = 'whsec_c2VydmVybGVzcy1qb2JzLWV4YW1wbGUtc2VjcmV0ISE=';

/** A run of the webhook job (Deploy on Push) as its team's `http` target receives it. */
const TARGET_REQUEST: ExecutionRequest = {
  execution_id: TARGET_EXECUTION_ID,
  workflow_id: `wf_${TARGET_EXECUTION_ID.slice('exec_'.length)}`,
  job_id: WEBHOOK_JOB_ID,
  job_name: 'Deploy on Push',
  entity: { id: 'deployment-team-uuid', type: 'team', name: 'Deployment team' },
  trigger_type: 'webhook',
  prompt: 'Deploy branch main to production',
  system_prompt: null,
  parameters: { branch_name: 'main', environment: 'production' },
  config: {},
  metadata: {
    commit: '9fceb02',
    webhook: {
      scheme: 'standard-webhooks',
      delivery_id: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      secret: 'current',
    },
  },
  environment: { name: 'production', variables: { REGION: 'eu-west-1', LOG_LEVEL: 'info' } },
  attempt: 1,
  deadline_at: '2025-01-15T11:00:00.310Z',
  callback: {
    url: `https://jobs.example.com/executions/${TARGET_EXECUTION_ID}/callback`,
    token: `${WEBHOOK_JOB_ID}.earj0xUuE-7ZOt75Yg6shAg6OjZLsiO5jQSUxgJN3ZM`,
  },
};

/** The signature the service sends with the example request: over its compact JSON, the bytes it POSTs. */
const TARGET_SIGNATURE = signStandardWebhook({
  id: TARGET_EXECUTION_ID,
  timestamp: TARGET_TIMESTAMP,
  body: JSON.stringify(TARGET_REQUEST),
  secret: TARGET_SIGNING_SECRET,
});

const TARGET_TOLERANCE_MINUTES = DEFAULT_TOLERANCE_SECONDS / 60;

/** What the service sends, for the document's `webhooks`: the execution request to `http` targets. */
export function executionRequestWebhook(): ZodOpenApiPathsObject {
  return {
    executionRequest: {
      post: {
        operationId: 'receiveExecutionRequest',
        tags: ['Targets'],
        summary: 'Run an attempt (sent to an http target)',
        description: [
          "Sent by the service, not called on it: for each attempt of a run on an entity with an `http` target, the worker POSTs the execution request to the target's `url` as JSON (`Content-Type: application/json`, `User-Agent: serverless-jobs`). A `lambda` target gets the same object as its payload, unsigned; the `echo` target returns it, without `callback`, as the output.",
          '',
          `**Verify the signature** ([Standard Webhooks](https://www.standardwebhooks.com)) over the raw body bytes as received, before parsing them (re-serialized JSON would not match): the key is the base64-decoded part of the entity's \`signing_secret\` after \`whsec_\` (returned once, when the http target was created); the signed content is \`\${webhook-id}.\${webhook-timestamp}.\${raw body}\`; the signature is the base64 HMAC-SHA256 of it, and \`webhook-signature\` holds space-separated \`v1,<signature>\` entries (compare in constant time; ignore other versions). Refuse a \`webhook-timestamp\` more than ${TARGET_TOLERANCE_MINUTES} minutes from your clock, as a replay. A Standard Webhooks library verifies all of this (\`new Webhook(secret).verify(rawBody, headers)\`); \`examples/agent.ts\` is a working verifier with node:crypto alone.`,
          '',
          `**Answer in time**: within the target's \`timeout_seconds\` (default ${DEFAULT_HTTP_TARGET_TIMEOUT_SECONDS}), the run's \`deadline_at\` and the worker's own time, whichever ends first. No answer in time counts as a timeout: retried as a 5xx is, and at \`deadline_at\` the run is \`timed_out\`. Redirects are not followed (one could carry the signed body to another host).`,
          '',
          `**Retries** follow the run's \`config.retry\` (\`max_attempts\`, default ${DEFAULT_RUN_SETTINGS.maxAttempts}; \`backoff_seconds\`, default ${DEFAULT_RUN_SETTINGS.backoffSeconds}, doubled each attempt) while the next attempt can start before \`deadline_at\`: a 408, 429 or 5xx answer, a timeout or a network error is retried; any other answer outside 2xx fails the run at once. Each attempt sends the same \`execution_id\` (\`webhook-id\`) with the next \`attempt\`, a fresh signature and a new callback token.`,
          '',
          '**Long work**: answer 202 at once, then finish the run by POSTing a CallbackRequest (`{"status": "succeeded", "output": …}` or `{"status": "failed", "error_message": …}`) to `callback.url` with `Authorization: Bearer <callback.token>` (`POST /executions/{id}/callback`) before `deadline_at`; a run not finished by then is `timed_out`.',
        ].join('\n'),
        // The target authenticates the service by the signature headers below, not by an API key.
        security: [],
        parameters: [
          {
            name: 'webhook-id',
            in: 'header',
            required: true,
            description:
              'The execution id (`execution_id` of the body): the same for every attempt of a run.',
            schema: { type: 'string' },
            example: TARGET_EXECUTION_ID,
          },
          {
            name: 'webhook-timestamp',
            in: 'header',
            required: true,
            description: `Unix seconds when the request was signed. Refuse one more than ${TARGET_TOLERANCE_MINUTES} minutes from your clock.`,
            schema: { type: 'string', pattern: '^\\d{1,12}$' },
            example: String(TARGET_TIMESTAMP),
          },
          {
            name: 'webhook-signature',
            in: 'header',
            required: true,
            description: `Space-separated \`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">\` entries, keyed with the base64-decoded part of the entity's signing secret after \`whsec_\`; the service sends one. The example signs the example body as sent (compact JSON, keys in the order shown) with the secret \`${TARGET_SIGNING_SECRET}\`.`,
            schema: { type: 'string', pattern: '^v\\d+,\\S+( v\\d+,\\S+)*$' },
            example: TARGET_SIGNATURE,
          },
        ],
        requestBody: {
          description: 'The execution request.',
          required: true,
          content: {
            'application/json': {
              schema: ExecutionRequestSchema,
              examples: { deploy: example('An attempt of a webhook run', TARGET_REQUEST) },
            },
          },
        },
        responses: {
          200: {
            description:
              'Succeeded (any 2xx but 202 means the same): the body is recorded as the run’s `output` — parsed when the response is JSON (`application/json` or `+json`), kept as text otherwise, null when empty — and cut to 64 KiB, with `output_truncated`.',
            content: {
              'application/json': {
                schema: {},
                examples: {
                  output: example('Any JSON', {
                    deployed: true,
                    url: 'https://app.example.com',
                    version: '1.4.2',
                  }),
                },
              },
            },
          },
          202: {
            description:
              'Accepted: the target took the run and will finish it with `POST /executions/{id}/callback` (`Authorization: Bearer <callback.token>`) before `deadline_at`. The body is ignored.',
          },
          '3XX': { description: 'Not followed: the run fails, without a retry.' },
          '4XX': {
            description:
              'The run fails without a retry, the start of the body quoted in `error_message`; except 408 and 429, which are retried as a 5xx is.',
          },
          '5XX': {
            description:
              'Retried per `config.retry` while attempts and time remain; then the run fails, the start of the body quoted in `error_message`.',
          },
        },
      },
    },
  };
}
