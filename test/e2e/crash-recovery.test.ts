import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_DYNAMODB_CREDENTIALS, LOCAL_DYNAMODB_REGION } from '../../infra/local/dynamodb-local.js';
import { FileQueueJournal } from '../../infra/local/queue-journal.js';
import { ControlPlaneClient, type Execution, JobError, NetworkError } from '../../sdk/index.js';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { type AgentServer, startAgentServer } from '../support/agent-server.js';
import { deleteLocalTable, FINISHED } from '../support/local-runtime.js';
import {
  cleanUpMainProcesses,
  expectNoJava,
  javaUsing,
  processes,
  type RunningMain,
  startMain,
  tempDir,
} from '../support/main-process.js';

// The local runtime as users run it (`npm start`, a child process), killed and stopped mid-work: every run
// it acknowledged must still end, and none may run twice.

const agents: AgentServer[] = [];
afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.close()));
  await cleanUpMainProcesses();
});

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** The node process serving `main` (npm's child, via the start script's `exec`). */
function nodeOf(main: Pick<RunningMain, 'child'>): number {
  const all = processes();
  const descendants = new Set([main.child.pid ?? -1]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const info of all) {
      if (descendants.has(info.ppid) && !descendants.has(info.pid)) {
        descendants.add(info.pid);
        grew = true;
      }
    }
  }
  const node = all.find((info) => descendants.has(info.pid) && info.args.includes('infra/local/main.ts'));
  if (!node) throw new Error('no node process serving the runtime');
  return node.pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every execution of a job, newest first, all pages. */
async function allExecutions(client: ControlPlaneClient, jobId: string): Promise<Execution[]> {
  const executions: Execution[] = [];
  for await (const execution of client.jobs.iterateExecutions(jobId)) executions.push(execution);
  return executions;
}

async function setUpAgentJob(
  client: ControlPlaneClient,
  agent: AgentServer,
  config: Record<string, unknown>,
) {
  const entity = await client.entities.create({
    type: 'agent',
    name: `agent-${randomBytes(3).toString('hex')}`,
    target: { type: 'http', url: agent.url },
  });
  agent.signingSecret = 'signing_secret' in entity ? entity.signing_secret : null;
  return client.jobs.create({
    name: 'slow work',
    trigger_type: 'manual',
    prompt_template: 'Work on {{ n }}',
    entity_type: 'agent',
    entity_id: entity.id,
    config,
  });
}

/** A job's executions read straight from the table (the runtime that wrote them has exited). */
async function storedExecutions(endpoint: string, tableName: string, jobId: string) {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_DYNAMODB_REGION,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
  });
  try {
    const store = new DynamoExecutionStore(DynamoDBDocumentClient.from(client), tableName);
    const executions: Execution[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list(jobId, { limit: 100, offset: 0, ...(cursor && { cursor }) });
      executions.push(...page.executions);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return executions;
  } finally {
    client.destroy();
  }
}

describe('a SIGKILL of the runtime while runs are running and queued', () => {
  it('picks every acknowledged run up again after the restart, as its next attempt, and runs none twice', {
    timeout: 240_000,
  }, async () => {
    // Prepare: 50 runs; the local workers take 40 at once (4 batches of 10) and the agent holds them.
    const dataDir = await tempDir();
    // Long enough that no held attempt times out (freeing a worker for an 11th run of its batch) while a
    // busy machine is still triggering the 50; short enough that the held runs' leases lapse soon after the restart.
    const env = { JOBS_DATA_DIR: dataDir, JOBS_WORKER_TIMEOUT_SECONDS: '20' };
    const first = await startMain(env);
    const agent = await startAgentServer();
    agents.push(agent);
    agent.script({ kind: 'hold' });
    const client = new ControlPlaneClient({ baseUrl: first.url, apiKey: first.apiKey });
    const job = await setUpAgentJob(client, agent, { retry: { max_attempts: 2, backoff_seconds: 1 } });
    const acknowledged: string[] = [];
    for (let n = 0; n < 50; n++) {
      acknowledged.push((await client.jobs.trigger(job.id, { parameters: { n } })).execution_id);
    }
    await agent.waitForRequests(40, 30_000);
    const running = new Set(agent.requests.map((request) => request.body.execution_id));

    // Act: kill node outright (no handler runs; its watchdog kills java), then start again.
    const node = nodeOf(first);
    process.kill(node, 'SIGKILL');
    await first.exited;
    await expectNoJava(() => javaUsing(dataDir));
    agent.release();
    agent.script({ kind: 'json', body: { done: true } });
    const second = await startMain(env);
    const restarted = Date.now();
    const after = new ControlPlaneClient({ baseUrl: second.url, apiKey: second.apiKey });
    let unfinished: Execution[] = [];
    await expect
      .poll(
        async () => {
          unfinished = (await allExecutions(after, job.id)).filter((e) => !FINISHED.includes(e.status));
          return unfinished.length;
        },
        { timeout: 120_000, interval: 500 },
      )
      .toBe(0)
      .catch((error: unknown) => {
        throw new Error(`${JSON.stringify(unfinished, null, 1)}\n${second.output()}`, { cause: error });
      });
    const settledWithinMs = Date.now() - restarted;
    const executions = await allExecutions(after, job.id);
    const exitCode = await second.stop('SIGTERM');

    // Assess
    expect(running.size).toBe(40);
    expect(executions.map((execution) => execution.execution_id).sort()).toEqual([...acknowledged].sort());
    expect(executions.every((execution) => execution.status === 'succeeded')).toBe(true);
    const attemptsSeen = new Map<string, number[]>();
    for (const request of agent.requests) {
      const seen = attemptsSeen.get(request.body.execution_id) ?? [];
      seen.push(request.body.attempt);
      attemptsSeen.set(request.body.execution_id, seen);
    }
    for (const id of acknowledged) {
      // No attempt of a run reaches the agent twice; a run the killed worker was running is taken over as
      // its next attempt (a claim the worker made without reaching the agent counts too).
      const seen = attemptsSeen.get(id) ?? [];
      const execution = executions.find((candidate) => candidate.execution_id === id);
      expect(new Set(seen).size, id).toBe(seen.length);
      expect(seen.at(-1), id).toBe(execution?.attempt);
      if (running.has(id)) expect(seen, id).toEqual([1, 2]);
    }
    expect(settledWithinMs).toBeLessThan(120_000);
    expect(exitCode, second.output()).toBe(0);
    expect(await new FileQueueJournal(join(dataDir, 'queues')).load()).toEqual([]);
  });
});

describe('a SIGTERM under a flood of triggers', () => {
  const endpoint = inject('dynamodbEndpoint');
  const tableName = `e2e-drain-${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    await deleteLocalTable(endpoint, tableName).catch(() => undefined);
  });

  it('stops taking work first, then finishes every run it acknowledged before exiting', {
    timeout: 120_000,
  }, async () => {
    // Prepare: the table lives in the test's DynamoDB, so it can be read after the runtime has exited.
    const dataDir = await tempDir();
    const main = await startMain({
      JOBS_DATA_DIR: dataDir,
      JOBS_DYNAMODB_ENDPOINT: endpoint,
      JOBS_TABLE_NAME: tableName,
    });
    const client = new ControlPlaneClient({ baseUrl: main.url, apiKey: main.apiKey, maxRetries: 0 });
    await client.entities.create({ type: 'workflow', name: 'echo', target: { type: 'echo' }, default: true });
    const job = await client.jobs.create({ name: 'flood', trigger_type: 'manual', prompt_template: 'Go' });
    const acknowledged: { id: string; sentAt: number }[] = [];
    let firstRefusalAt = Number.POSITIVE_INFINITY;
    let signalled = false;
    let open = true;

    // Act: 16 callers trigger as fast as they can; after 200 acknowledgements the runtime gets SIGTERM.
    const caller = async () => {
      while (open) {
        const sentAt = performance.now();
        try {
          const { execution_id: id } = await client.jobs.trigger(job.id);
          acknowledged.push({ id, sentAt });
          if (acknowledged.length >= 200 && !signalled) {
            signalled = true;
            main.child.kill('SIGTERM');
          }
        } catch (error) {
          // 503 while stopping, or no answer once the listener is closed: both are refusals.
          if (!(error instanceof NetworkError) && !(error instanceof JobError && error.status === 503)) {
            throw error;
          }
          firstRefusalAt = Math.min(firstRefusalAt, performance.now());
          await sleep(20);
        }
      }
    };
    const callers = Array.from({ length: 16 }, caller);
    const exitCode = await main.exited;
    await sleep(500);
    open = false;
    await Promise.all(callers);

    // Assess: nothing it acknowledged is left queued; what came after the listener closed was refused.
    expect(exitCode, main.output()).toBe(0);
    expect(firstRefusalAt).toBeLessThan(Number.POSITIVE_INFINITY);
    const executions = await storedExecutions(endpoint, tableName, job.id);
    const statuses = new Map(executions.map((execution) => [execution.execution_id, execution.status]));
    for (const { id } of acknowledged) expect(statuses.get(id), id).toBe('succeeded');
    // Once it had refused one request, it took no more: every later request was refused too.
    expect(acknowledged.filter((ack) => ack.sentAt > firstRefusalAt)).toEqual([]);
    expect(await new FileQueueJournal(join(dataDir, 'queues')).load()).toEqual([]);
  });
});

describe('the runtime and its DynamoDB Local on this machine', () => {
  it('stops when the npm process that started it is killed outright', { timeout: 120_000 }, async () => {
    // Prepare
    const dataDir = await tempDir();
    const main = await startMain({ JOBS_DATA_DIR: dataDir });
    const node = nodeOf(main);

    // Act: SIGKILL of npm itself; node is re-parented and no signal reaches it.
    main.child.kill('SIGKILL');

    // Assess
    await expect.poll(() => isAlive(node), { timeout: 30_000, interval: 200 }).toBe(false);
    await expectNoJava(() => javaUsing(dataDir));
  });

  it('keeps DynamoDB Local to loopback, its heap capped and its files private in a user-made data dir', {
    timeout: 120_000,
  }, async () => {
    // Prepare: the user made the data dir themselves, readable by everyone.
    const dataDir = join(await tempDir(), 'data');
    await mkdir(dataDir, { mode: 0o755 });
    await writeFile(join(dataDir, 'notes.txt'), 'mine', { mode: 0o644 });
    const main = await startMain({ JOBS_DATA_DIR: dataDir });
    const [java] = javaUsing(dataDir);
    const port = Number(/-port (\d+)/.exec(java?.args ?? '')?.[1]);
    const lanAddress = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && !address.internal && address.family === 'IPv4')?.address;

    // Act
    const fromLoopback = await exchange('127.0.0.1', port);
    const fromNetwork = lanAddress === undefined ? null : await exchange(lanAddress, port);
    const client = new ControlPlaneClient({ baseUrl: main.url, apiKey: main.apiKey });
    await client.entities.create({ type: 'workflow', name: 'echo', target: { type: 'echo' }, default: true });
    const exitCode = await main.stop('SIGINT');
    const files = await readdir(join(dataDir, 'dynamodb'));

    // Assess
    expect(java?.args).toContain('-Xmx');
    expect(main.output()).toContain('this machine only');
    expect(fromLoopback).toMatch(/^HTTP\/1\.1 /);
    expect(lanAddress, 'a non-loopback interface to connect from').toBeDefined();
    expect(fromNetwork).toBe('');
    expect(exitCode, main.output()).toBe(0);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files)
      expect((await stat(join(dataDir, 'dynamodb', file))).mode & 0o777, file).toBe(0o600);
    for (const file of ['api-key', 'secret-box.key', 'scheduler-checkpoint']) {
      expect((await stat(join(dataDir, file))).mode & 0o777, file).toBe(0o600);
    }
  });
});

/** Sends a bare HTTP request and returns what came back before the connection closed ('' if nothing). */
function exchange(host: string, port: number): Promise<string> {
  return new Promise((resolveExchange) => {
    let received = '';
    const socket = connect({ host, port });
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('connect', () => {
      socket.write(
        `POST / HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      );
    });
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolveExchange(received));
  });
}
