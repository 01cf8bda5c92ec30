/**
 * Reference: "Trigger via Webhook". Signs a payload with the job's webhook secret and delivers it:
 * once with the SDK (as the reference does), once with plain `fetch` (what any sender, a CI system
 * say, does), and once tampered with, which the service refuses. Creates the webhook job first.
 *
 *   npx tsx examples/12-trigger-webhook.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers deployment-team-uuid).
 */
import { createHmac } from 'node:crypto';
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection, waitForExecution } from './support.js';

const client = new ControlPlaneClient(localConnection());

const job = await client.jobs.create({
  name: 'Deploy on Push',
  trigger_type: 'webhook',
  planning_mode: 'predefined_team',
  entity_type: 'team',
  entity_id: 'deployment-team-uuid',
  prompt_template: 'Deploy branch {{ branch_name }} to {{ environment }} ',
});
// Shown only in the answer that created the job: keep it in a secrets store, never in client code.
const webhookSecret = job.webhook_secret ?? '';
const webhookPath = job.webhook_path ?? '';
const webhookUrl = job.webhook_url ?? '';

/** Hex HMAC-SHA256 of the exact bytes sent, keyed with the secret string as it is. */
function sign(payloadBytes: Buffer, secret: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(payloadBytes).digest('hex');
}

try {
  // Prepare payload
  const payload = {
    parameters: {
      branch_name: 'feature-x',
      environment: 'staging',
    },
    metadata: {
      source: 'github',
      commit: 'abc123',
    },
  };

  // Calculate HMAC signature over the bytes that will be sent. (Python's json.dumps puts spaces after
  // ',' and ':' where JSON.stringify does not; either is fine, as long as the signed bytes are sent.)
  const payloadBytes = Buffer.from(JSON.stringify(payload), 'utf8');
  const signature = sign(payloadBytes, webhookSecret);

  // Trigger webhook (passing the signed bytes, so exactly those are sent)
  const result = await client.jobs.trigger_webhook({
    webhook_path: webhookPath,
    payload: payloadBytes,
    signature,
  });
  console.log(`Webhook triggered: ${result.workflow_id}`);

  // The same delivery without the SDK: a POST to the webhook URL with the X-Webhook-Signature header.
  const fromCi = Buffer.from(
    JSON.stringify({
      parameters: { branch_name: 'main', environment: 'production' },
      metadata: { source: 'ci', commit: 'def456' },
    }),
    'utf8',
  );
  const response = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Webhook-Signature': sign(fromCi, webhookSecret) },
    body: fromCi,
  });
  const posted = (await response.json()) as { workflow_id: string; execution_id: string };
  console.log(`Webhook POST answered ${response.status}: ${posted.workflow_id}`);

  // A body changed after signing no longer matches its signature: 401, and nothing runs.
  const tampered = Buffer.from(payloadBytes.toString('utf8').replace('staging', 'production'), 'utf8');
  const refused = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Webhook-Signature': signature },
    body: tampered,
  });
  console.log(`Tampered delivery refused: HTTP ${refused.status}`);

  for (const executionId of [result.execution_id, posted.execution_id]) {
    const run = await waitForExecution(client, job.id, executionId);
    console.log(`Execution ${run.execution_id} ${run.status}: "${run.prompt}"`);
  }
} finally {
  await cleanUp(client, job.id);
}
