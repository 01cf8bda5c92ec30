import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ControlPlaneClient,
  type EntityCreateInput,
  type EntityWithSecret,
  type Execution,
  JobError,
} from '../../sdk/index.js';
import { type AgentServer, startAgentServer } from '../support/agent-server.js';
import { startTestRuntime, type TestRuntime, waitForExecution } from '../support/local-runtime.js';
import {
  BACKUP_AGENT,
  DEPLOY_ON_PUSH,
  DEPLOYMENT_TEAM,
  EMERGENCY_ROLLBACK,
  HEALTH_AGENT,
  NIGHTLY_BACKUP,
  SECURITY_TEAM,
  WEEKLY_SECURITY_SCAN,
} from '../support/reference-jobs.js';

/**
 * The reference page's examples from "Manual Trigger" through "Get Execution History", and its
 * "Complete Example", translated line by line to our SDK and run against the local runtime. What the
 * reference prints is collected in `printed` and checked against what really happened: the agents'
 * own records of the requests they got and the answers they gave.
 */

let runtime: TestRuntime;
let client: ControlPlaneClient;
/** The agents behind the reference's `http` entities (the others are `echo`). */
const agents: Record<'backup' | 'deployment' | 'security', AgentServer> = {} as never;

beforeAll(async () => {
  runtime = await startTestRuntime();
  client = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: runtime.apiKey });
  agents.backup = await startAgentServer();
  agents.deployment = await startAgentServer();
  agents.security = await startAgentServer();
  /** A reference entity, but answered by `agent` over http. */
  const http = async (reference: EntityCreateInput, agent: AgentServer) => {
    const entity = (await client.entities.create({
      ...reference,
      target: { type: 'http', url: agent.url },
    })) as EntityWithSecret;
    agent.signingSecret = entity.signing_secret;
  };
  await Promise.all([
    client.entities.create(HEALTH_AGENT),
    http(BACKUP_AGENT, agents.backup),
    http(DEPLOYMENT_TEAM, agents.deployment),
    http(SECURITY_TEAM, agents.security),
    // The reference's workflow jobs name no entity: they run on the deployment default.
    client.entities.create({
      id: 'rollback-workflow',
      type: 'workflow',
      name: 'Rollback workflow',
      target: { type: 'echo' },
      default: true,
    }),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(agents).map((agent) => agent.close()));
  await runtime?.cleanup();
});

const requestsFor = (agent: AgentServer, executionId: string) =>
  agent.requests.filter((request) => request.body.execution_id === executionId);

/** What a history entry must look like given its status: timings once it ran, an error only when it failed. */
function truthOf(execution: Execution) {
  const ran = execution.started_at !== null;
  const ended = ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(execution.status);
  return {
    status: execution.status,
    durationNonNullWhenFinished: !(ran && ended) || typeof execution.duration_ms === 'number',
    errorOnlyWhenFailed:
      (execution.error_message !== null) === ['failed', 'timed_out'].includes(execution.status),
  };
}

describe('reference examples through the SDK against the local runtime', () => {
  it('Manual Trigger: with parameters, and with a config override', async () => {
    // Prepare
    const deploy = await client.jobs.create(DEPLOY_ON_PUSH);
    const backup = await client.jobs.create(NIGHTLY_BACKUP);
    const rollback = await client.jobs.create(EMERGENCY_ROLLBACK);
    agents.deployment.script({ kind: 'json', body: { deployed: 'main' } });
    agents.backup.script({ kind: 'json', body: { backup: 'done' } });
    const printed: string[] = [];

    // Act
    // Trigger with parameters
    const result = await client.jobs.trigger(deploy.id, {
      parameters: { branch_name: 'main', environment: 'production' },
    });
    printed.push(`Workflow ID: ${result.workflow_id}`);
    printed.push(`Execution ID: ${result.execution_id}`);
    printed.push(`Status: ${result.status}`);
    // Trigger with config override
    const overridden = await client.jobs.trigger(backup.id, {
      parameters: { service: 'api' },
      config_override: { timeout: 7200 },
    });
    // The manual-only job of "Create Job", on the default workflow entity
    const rolledBack = await client.jobs.trigger(rollback.id, {
      parameters: { service_name: 'checkout', version: 'v1.2.3' },
    });
    const deployRun = await waitForExecution(client, deploy.id, result.execution_id);
    const backupRun = await waitForExecution(client, backup.id, overridden.execution_id);
    const rollbackRun = await waitForExecution(client, rollback.id, rolledBack.execution_id);

    // Assess
    expect(printed).toEqual([
      `Workflow ID: ${deployRun.workflow_id}`,
      `Execution ID: ${deployRun.execution_id}`,
      'Status: queued',
    ]);
    expect(deployRun).toMatchObject({
      status: 'succeeded',
      trigger_type: 'manual',
      prompt: 'Deploy branch main to production ',
      entity_id: 'deployment-team-uuid',
      entity_type: 'team',
      queue: 'production',
      environment_name: 'production',
      output: { deployed: 'main' },
    });
    const [deployRequest, ...deployExtra] = requestsFor(agents.deployment, result.execution_id);
    expect(deployExtra).toEqual([]);
    expect(deployRequest?.signatureValid).toBe(true);
    expect(deployRequest?.body).toMatchObject({
      prompt: 'Deploy branch main to production ',
      entity: { id: 'deployment-team-uuid', type: 'team', name: 'Deployment team' },
      environment: { name: 'production', variables: {} },
    });

    expect(overridden.status).toBe('queued');
    expect(backupRun).toMatchObject({
      status: 'succeeded',
      parameters: { service: 'api' },
      prompt: 'Perform full database backup',
      config: { timeout: 7200 },
      queue: 'production',
      output: { backup: 'done' },
    });
    expect(Date.parse(backupRun.deadline_at ?? '') - Date.parse(backupRun.started_at ?? '')).toBe(7_200_000);
    const backupRequests = requestsFor(agents.backup, overridden.execution_id);
    expect(backupRequests.map((r) => [r.body.config, r.signatureValid])).toEqual([[{ timeout: 7200 }, true]]);

    expect(rollbackRun).toMatchObject({
      status: 'succeeded',
      entity_id: 'rollback-workflow',
      entity_type: 'workflow',
      queue: 'default',
      prompt: 'Rollback service checkout to version v1.2.3 ',
    });
    expect(rollbackRun.output).toMatchObject({
      execution_id: rolledBack.execution_id,
      prompt: 'Rollback service checkout to version v1.2.3 ',
      entity: { id: 'rollback-workflow', type: 'workflow' },
    });
    expect(rollbackRun.output).not.toHaveProperty('callback');
    for (const run of [deployRun, backupRun, rollbackRun]) {
      expect(truthOf(run)).toEqual({
        status: 'succeeded',
        durationNonNullWhenFinished: true,
        errorOnlyWhenFailed: true,
      });
    }
  });

  it('Enable/Disable Job: a disabled job cannot be triggered, an enabled one runs', async () => {
    // Prepare
    const job = await client.jobs.create(EMERGENCY_ROLLBACK);
    const parameters = { service_name: 'api', version: 'v41' };
    const printed: string[] = [];

    // Act
    const disabledJob = await client.jobs.disable(job.id);
    printed.push(`Job disabled: ${!disabledJob.enabled}`);
    const refused = await client.jobs.trigger(job.id, { parameters }).catch((error: unknown) => error);
    const enabledJob = await client.jobs.enable(job.id);
    printed.push(`Job enabled: ${enabledJob.enabled}`);
    const result = await client.jobs.trigger(job.id, { parameters });
    const run = await waitForExecution(client, job.id, result.execution_id);
    const history = await client.jobs.get_executions(job.id);

    // Assess
    expect(printed).toEqual(['Job disabled: true', 'Job enabled: true']);
    expect(refused).toBeInstanceOf(JobError);
    expect(refused).toMatchObject({ status: 409, code: 'conflict' });
    expect(run.status).toBe('succeeded');
    expect(history.total_count).toBe(1);
    expect(history.executions.map((e) => e.execution_id)).toEqual([result.execution_id]);
  });

  it('Get Execution History: total_count, statuses, durations and errors printed are what happened', async () => {
    // Prepare: four runs, one at a time, each answered differently by the deployment team's agent
    const job = await client.jobs.create(DEPLOY_ON_PUSH);
    const parameters = { branch_name: 'feature-x', environment: 'staging' };
    const agent = agents.deployment;
    agent.script(
      { kind: 'json', body: { deployed: 'feature-x' } },
      { kind: 'status', status: 500, body: 'registry unreachable' },
      { kind: 'accept', delayMs: 20, callback: { status: 'succeeded', output: { async: true } } },
      { kind: 'sleep', ms: 5_000 },
    );
    const ids: string[] = [];
    for (const options of [{}, {}, {}, { config_override: { timeout: 1 } }]) {
      const { execution_id } = await client.jobs.trigger(job.id, { parameters, ...options });
      await waitForExecution(client, job.id, execution_id);
      ids.push(execution_id);
    }
    const printed: string[] = [];

    // Act
    // Get recent executions
    const history = await client.jobs.get_executions(job.id, { limit: 50, offset: 0 });
    printed.push(`Total executions: ${history.total_count}`);
    for (const execution of history.executions) {
      printed.push(`Execution ${execution.execution_id}:`);
      printed.push(`  Status: ${execution.status}`);
      printed.push(`  Started: ${execution.started_at}`);
      printed.push(`  Duration: ${execution.duration_ms}ms`);
      if (execution.error_message) printed.push(`  Error: ${execution.error_message}`);
    }
    const middle = await client.jobs.get_executions(job.id, { limit: 2, offset: 1 });
    const firstPage = await client.jobs.getExecutions(job.id, { limit: 3 });
    const rest = await client.jobs.getExecutions(job.id, { limit: 3, cursor: firstPage.next_cursor ?? '' });

    // Assess
    const [succeeded, failed, calledBack, timedOut] = ids as [string, string, string, string];
    const started = expect.stringMatching(/^ {2}Started: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const duration = expect.stringMatching(/^ {2}Duration: \d+ms$/);
    expect(printed).toEqual([
      'Total executions: 4',
      `Execution ${timedOut}:`,
      '  Status: timed_out',
      started,
      duration,
      expect.stringMatching(/^ {2}Error: .+/),
      `Execution ${calledBack}:`,
      '  Status: succeeded',
      started,
      duration,
      `Execution ${failed}:`,
      '  Status: failed',
      started,
      duration,
      expect.stringMatching(/^ {2}Error: The target answered HTTP 500: registry unreachable$/),
      `Execution ${succeeded}:`,
      '  Status: succeeded',
      started,
      duration,
    ]);
    expect(history.executions.map(truthOf)).toEqual(
      ['timed_out', 'succeeded', 'failed', 'succeeded'].map((status) => ({
        status,
        durationNonNullWhenFinished: true,
        errorOnlyWhenFailed: true,
      })),
    );
    expect(history.executions.map((e) => e.output)).toEqual([
      null,
      { async: true },
      null,
      { deployed: 'feature-x' },
    ]);
    expect(ids.map((id) => requestsFor(agent, id).length)).toEqual([1, 1, 1, 1]);
    expect(middle).toMatchObject({ total_count: 4 });
    expect(middle.executions.map((e) => e.execution_id)).toEqual([calledBack, failed]);
    expect([...firstPage.executions, ...rest.executions].map((e) => e.execution_id)).toEqual([
      timedOut,
      calledBack,
      failed,
      succeeded,
    ]);
    expect(rest.next_cursor).toBeNull();
  });

  it('Complete Example: create, trigger a test run, check history, disable, re-enable', async () => {
    // Prepare
    agents.security.script({ kind: 'json', body: { vulnerabilities: 0 } });
    const printed: string[] = [];

    // Act
    // 1. Create a cron job
    const job = await client.jobs.create(WEEKLY_SECURITY_SCAN);
    printed.push(`Created job: ${job.id}`);
    // 2. Manually trigger a test run
    const result = await client.jobs.trigger(job.id, { parameters: {} });
    printed.push(`Test execution started: ${result.execution_id}`);
    // 3. Check execution history (polling for the end instead of the reference's fixed time.sleep(5))
    await waitForExecution(client, job.id, result.execution_id);
    const history = await client.jobs.get_executions(job.id, { limit: 1 });
    const latest = history.executions[0];
    if (latest) printed.push(`Latest execution status: ${latest.status}`);
    // 4. Temporarily disable job
    const disabled = await client.jobs.disable(job.id);
    printed.push('Job disabled');
    // 5. Re-enable job
    const enabled = await client.jobs.enable(job.id);
    printed.push('Job re-enabled');
    const final = await client.jobs.get(job.id);

    // Assess
    expect(printed).toEqual([
      `Created job: ${job.id}`,
      `Test execution started: ${result.execution_id}`,
      'Latest execution status: succeeded',
      'Job disabled',
      'Job re-enabled',
    ]);
    expect(job).toMatchObject(WEEKLY_SECURITY_SCAN);
    expect(history.total_count).toBe(1);
    expect(latest).toMatchObject({
      execution_id: result.execution_id,
      workflow_id: result.workflow_id,
      status: 'succeeded',
      queue: 'security',
      prompt: 'Scan all repositories and report vulnerabilities',
      output: { vulnerabilities: 0 },
    });
    expect(truthOf(latest as Execution)).toEqual({
      status: 'succeeded',
      durationNonNullWhenFinished: true,
      errorOnlyWhenFailed: true,
    });
    const requests = requestsFor(agents.security, result.execution_id);
    expect(requests.map((r) => [r.body.prompt, r.body.entity.id, r.signatureValid])).toEqual([
      ['Scan all repositories and report vulnerabilities', 'security-team-uuid', true],
    ]);
    expect([disabled.enabled, enabled.enabled, final.enabled]).toEqual([false, true, true]);
  });
});
