/**
 * A job on a real agent: registers examples/agent.ts as an `http` entity, creates a job on it,
 * triggers it and prints what the agent answered.
 *
 *   npx tsx examples/16-agent-job.ts [--new-secret] [--keep]
 *
 * The first run registers the entity and prints its signing secret (shown only then) with the command
 * that starts the agent: run that in another terminal and this example carries on once the agent
 * answers. Later runs reuse the entity; `--new-secret` replaces it to get a new secret.
 * `AGENT_URL` (default http://127.0.0.1:4000/run) is where the service calls the agent.
 */
import { ControlPlaneClient, type EntityCreateInput, JobError } from 'serverless-jobs/client';
import { cleanUp, localConnection, waitForExecution } from './support.js';

const AGENT_URL = process.env.AGENT_URL ?? 'http://127.0.0.1:4000/run';
const ENTITY_ID = 'example-agent';
/** How long to wait for the agent to start. */
const AGENT_WAIT_SECONDS = Number(process.env.AGENT_WAIT_SECONDS ?? 120);

const client = new ControlPlaneClient(localConnection());

// 1. Register the agent. The answer that creates an http entity carries its signing secret, once.
const entity: EntityCreateInput = {
  id: ENTITY_ID,
  type: 'agent',
  name: 'Example agent',
  target: { type: 'http', url: AGENT_URL },
};
if (process.argv.includes('--new-secret')) {
  await client.entities.delete(ENTITY_ID).catch((error: unknown) => {
    if (!(error instanceof JobError && error.status === 404)) throw error;
  });
}
let signingSecret: string | null = null;
try {
  const created = await client.entities.create(entity);
  signingSecret = 'signing_secret' in created ? created.signing_secret : null;
  console.log(`Registered entity ${ENTITY_ID} (http → ${AGENT_URL}).`);
} catch (error) {
  if (!(error instanceof JobError && error.status === 409)) throw error;
  const existing = await client.entities.get(ENTITY_ID);
  if (existing.target.type !== 'http' || existing.target.url !== AGENT_URL) {
    // An http entity keeps its secret when its URL changes; any other kind gets a new one here.
    const updated = await client.entities.update(ENTITY_ID, { target: entity.target });
    signingSecret = 'signing_secret' in updated ? updated.signing_secret : null;
  }
  console.log(`Entity ${ENTITY_ID} exists (http → ${AGENT_URL}).`);
}
if (signingSecret !== null) {
  const port = new URL(AGENT_URL).port || '80';
  console.log('Its signing secret is shown only this once. Start the agent in another terminal:');
  console.log('');
  console.log(`  AGENT_SIGNING_SECRET='${signingSecret}' PORT=${port} npx tsx examples/agent.ts`);
  console.log('');
}

// 2. Wait until the agent answers.
const health = new URL('/health', AGENT_URL);
const isUp = () =>
  fetch(health, { signal: AbortSignal.timeout(2_000) }).then(
    (response) => response.ok,
    () => false,
  );
if (!(await isUp())) {
  console.log(`Waiting for the agent at ${health} …`);
  if (signingSecret === null) {
    console.log('(Start it with the secret printed when the entity was registered; lost it? --new-secret.)');
  }
  const deadline = Date.now() + AGENT_WAIT_SECONDS * 1000;
  while (!(await isUp())) {
    if (Date.now() > deadline) {
      console.error(`The agent did not answer within ${AGENT_WAIT_SECONDS} s.`);
      process.exit(1);
    }
    await new Promise((resolveLater) => setTimeout(resolveLater, 500));
  }
}
console.log(`Agent is up at ${AGENT_URL}.`);

// 3. A job on the agent: trigger it and wait for the run.
const job = await client.jobs.create({
  name: 'Ask the example agent',
  trigger_type: 'manual',
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: ENTITY_ID,
  prompt_template: 'Check the health of {{ service }} in {{ environment }}',
});
try {
  const result = await client.jobs.trigger(job.id, {
    parameters: { service: 'checkout', environment: 'staging' },
  });
  console.log(`Execution ID: ${result.execution_id}`);
  const run = await waitForExecution(client, job.id, result.execution_id);
  console.log(`Status: ${run.status}`);
  if (run.status === 'succeeded') {
    console.log(`Agent output: ${JSON.stringify(run.output)}`);
  } else {
    console.log(`Error: ${run.error_message}`);
    if (run.error_message?.includes('HTTP 401')) {
      console.log("The agent refused the signature: start it with this entity's signing secret.");
    }
    process.exitCode = 1;
  }
} finally {
  await cleanUp(client, job.id);
}
