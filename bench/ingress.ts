/**
 * Two measurements of the local runtime against what DynamoDB Local itself allows, each with its baseline
 * measured in the same run on the same DynamoDB Local:
 *
 * 1. Webhook ingress and the runs it starts, under autocannon at 16 and 64 connections (signed deliveries,
 *    no delivery id, echo target): the runtime (`infra/local/main.ts` as a child process) against a bare
 *    `node:http` server doing the same signature check and the same DynamoDB reads and writes
 *    (`bench/support/bare-webhook-server.ts`). Rounds alternate between the two; medians are compared.
 * 2. A burst of the local scheduler: 2,000 jobs (or the count given) on `* * * * *` firing at the same minute. Lateness is
 *    each run's `started_at − scheduled_at`; the baseline is the time DynamoDB Local takes to write the
 *    same number of runs bare (each run's create, claim and finish, 16 at a time).
 *
 *   npx tsx bench/ingress.ts [ingress|scheduler|all=all] [seconds per round=8] [burst jobs=2000]
 *
 * Each round of the ingress ends once every run it answered has finished (so no round's runs spill into
 * the other server's round), and besides req/s and p99 it reports the CPU time each server, and DynamoDB
 * Local for it, spent per delivery and its run (from /proc), which the load of a shared machine moves far
 * less than throughput. `INGRESS_CONNECTIONS=1,4,16` measures other loads than the default `16,64`; with
 * `INGRESS_CPU_PROF_DIR` set, both servers run under `node --cpu-prof` and leave their profiles there when
 * the bench stops them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import autocannon from 'autocannon';
import {
  findFreePort,
  LOCAL_DYNAMODB_CREDENTIALS,
  LOCAL_DYNAMODB_REGION,
  startDynamoDbLocal,
} from '../infra/local/dynamodb-local.js';
import { FileQueueJournal } from '../infra/local/queue-journal.js';
import { startLocalRuntime } from '../infra/local/runtime.js';
import { DynamoExecutionStore } from '../shared/adapters/aws/dynamo-execution-store.js';
import { createLogger } from '../shared/adapters/logger.js';

const PART = process.argv[2] ?? 'all';
const SECONDS = Number(process.argv[3] ?? 8);
const ROOT = resolve(import.meta.dirname, '..');
const BURST_JOBS = Number(process.argv[4] ?? 2_000);
const CPU_PROF_DIR = process.env.INGRESS_CPU_PROF_DIR;
const CONNECTIONS = (process.env.INGRESS_CONNECTIONS ?? '16,64').split(',').map(Number);

const db = await startDynamoDbLocal({ dataPath: null, maxHeapMb: 1024 });
const children: ChildProcess[] = [];
/** What each child printed, to check after a measurement that nothing it did failed. */
const outputs: (() => string)[] = [];
const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Starts a program and waits for the line `ready` matches; returns its first capture group and its pid. */
async function startChild(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ value: string; pid: number }> {
  const profile = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF_DIR)}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  outputs.push(() => output);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const match = ready.exec(output);
    if (match) return { value: match[1] ?? '', pid: child.pid ?? -1 };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${args[0]} did not start:\n${output}`);
    await sleep(100);
  }
}

/**
 * CPU time a process has used so far (user + system, ms), from `/proc/<pid>/stat` (clock ticks of 10 ms,
 * Linux's USER_HZ); NaN where there is no /proc. Per delivery it says what each side costs whatever else
 * the shared machine runs, which throughput alone cannot.
 */
async function cpuMs(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

interface Round {
  rps: number;
  p99: number;
  non2xx: number;
  /** CPU ms per answered delivery and its run: the server's own, and DynamoDB Local's for it. */
  cpu: number;
  dbCpu: number;
  /** Runs answered but not finished when the load stopped. */
  left: number;
}

/**
 * One round: load for SECONDS, then wait until every run answered has finished, so no round's runs spill
 * into the next round (of the other server) and the CPU counted is that of the deliveries and their runs.
 */
async function round(
  target: { url: string; headers: Record<string, string>; pid: number; backlog: () => Promise<number> },
  connections: number,
  body: string,
): Promise<Round> {
  const before = { cpu: await cpuMs(target.pid), db: await cpuMs(db.pid) };
  const result = await autocannon({
    url: target.url,
    connections,
    duration: SECONDS,
    method: 'POST',
    headers: target.headers,
    body,
  });
  const left = await target.backlog();
  const settleDeadline = Date.now() + 120_000;
  while ((await target.backlog()) > 0 && Date.now() < settleDeadline) await sleep(50);
  const answered = Math.max(1, result['2xx']);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
    cpu: ((await cpuMs(target.pid)) - before.cpu) / answered,
    dbCpu: ((await cpuMs(db.pid)) - before.db) / answered,
    left,
  };
}

async function ingress(): Promise<void> {
  const secret = `bench-${randomBytes(8).toString('hex')}`;
  const body = JSON.stringify({ parameters: { service: 'payments-api', region: 'eu-west-1' } });
  const bare = await startChild(
    ['bench/support/bare-webhook-server.ts'],
    { DYNAMODB_ENDPOINT: db.endpoint, TABLE_NAME: `bare-${randomUUID().slice(0, 8)}`, SECRET: secret },
    /listening (\d+)/,
  );
  const barePort = bare.value;
  const dataDir = await mkdtemp(join(tmpdir(), 'ingress-'));
  const port = await findFreePort();
  const runtime = await startChild(
    ['infra/local/main.ts'],
    {
      PORT: String(port),
      JOBS_DATA_DIR: dataDir,
      JOBS_DYNAMODB_ENDPOINT: db.endpoint,
      JOBS_TABLE_NAME: `ingress-${randomUUID().slice(0, 8)}`,
      LOG_LEVEL: 'error',
    },
    /API key\s+(sjk_\S+)/,
  );
  const apiKey = runtime.value;
  const base = `http://127.0.0.1:${port}`;
  const call = async (path: string, payload: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  await call('/entities', { type: 'workflow', name: 'echo', target: { type: 'echo' }, default: true });
  const job = await call('/jobs', {
    name: 'ingress',
    trigger_type: 'webhook',
    prompt_template: 'Check {{ service }} in {{ region }}',
  });
  const ours = { url: String(job.webhook_url), secret: String(job.webhook_secret) };
  const sign = (key: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
  const queuesDir = join(dataDir, 'queues');
  const targets = {
    runtime: {
      url: ours.url,
      headers: { 'content-type': 'application/json', 'x-webhook-signature': sign(ours.secret) },
      pid: runtime.pid,
      // The runtime's unfinished runs are the messages its queue journal still holds (read, not changed).
      backlog: async () => (await new FileQueueJournal(queuesDir).load()).length,
    },
    bare: {
      url: `http://127.0.0.1:${barePort}/webhooks/bare`,
      headers: { 'content-type': 'application/json', 'x-webhook-signature': sign(secret) },
      pid: bare.pid,
      backlog: async () => {
        const response = await fetch(`http://127.0.0.1:${barePort}/pending`);
        return ((await response.json()) as { pending: number }).pending;
      },
    },
  };
  const loadAverage = () =>
    loadavg()
      .map((value) => value.toFixed(1))
      .join(' ');
  console.log(
    `webhook ingress + run, ${SECONDS} s rounds, echo target, one DynamoDB Local (load average ${loadAverage()})`,
  );
  for (const connections of CONNECTIONS) {
    const rounds: Record<'runtime' | 'bare', Round[]> = { runtime: [], bare: [] };
    // A short warm-up of each, then rounds that alternate so drift of the machine hits both alike.
    await round(targets.runtime, connections, body);
    await round(targets.bare, connections, body);
    for (let index = 0; index < 3; index++) {
      for (const name of ['runtime', 'bare'] as const) {
        rounds[name].push(await round(targets[name], connections, body));
      }
    }
    const of = (name: 'runtime' | 'bare', field: keyof Round) => median(rounds[name].map((r) => r[field]));
    const errors = [...rounds.runtime, ...rounds.bare].reduce((sum, r) => sum + r.non2xx, 0);
    const ratio = (field: keyof Round) => (of('runtime', field) / of('bare', field)).toFixed(2);
    console.log(
      `  ${String(connections).padStart(2)} connections: runtime ${of('runtime', 'rps').toFixed(0)} req/s p99 ${of('runtime', 'p99')} ms · ` +
        `bare ${of('bare', 'rps').toFixed(0)} req/s p99 ${of('bare', 'p99')} ms · ` +
        `ratio ${ratio('rps')}x req/s, p99 ${ratio('p99')}x (non-2xx answers: ${errors})`,
    );
    console.log(
      `      CPU per delivery and run: runtime ${of('runtime', 'cpu').toFixed(1)} ms · bare ${of('bare', 'cpu').toFixed(1)} ms ` +
        `(${ratio('cpu')}x); DynamoDB Local's for them ${of('runtime', 'dbCpu').toFixed(1)} ms · ${of('bare', 'dbCpu').toFixed(1)} ms; ` +
        `runs unfinished at the end of a round ${of('runtime', 'left')} · ${of('bare', 'left')}; load average ${loadAverage()}`,
    );
  }
  const failed = outputs.reduce((sum, output) => sum + (output().match(/^run failed/gm)?.length ?? 0), 0);
  if (failed > 0)
    console.log(`  the bare server's runs failed ${failed} times: its figures are not a baseline`);
  await rm(dataDir, { recursive: true, force: true });
}

async function schedulerBurst(): Promise<void> {
  const client = new DynamoDBClient({
    endpoint: db.endpoint,
    region: LOCAL_DYNAMODB_REGION,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
  });
  const documents = DynamoDBDocumentClient.from(client);
  const dataDir = await mkdtemp(join(tmpdir(), 'burst-'));
  const tableName = `burst-${randomUUID().slice(0, 8)}`;
  const runtime = await startLocalRuntime({
    dataDir,
    port: 0,
    dynamodbEndpoint: db.endpoint,
    tableName,
    logger: createLogger({ level: 'silent' }),
    sweepIntervalMs: 3_600_000,
  });
  try {
    const headers = { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' };
    await fetch(`${runtime.url}/entities`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ type: 'workflow', name: 'echo', target: { type: 'echo' }, default: true }),
    });
    let created = 0;
    const createJob = async (name: string) => {
      const request = {
        method: 'POST',
        headers,
        body: JSON.stringify({
          name,
          trigger_type: 'cron',
          cron_schedule: '* * * * *',
          prompt_template: 'Tick',
        }),
      };
      // Once more on a network failure (a kept-alive connection closed under load): at worst a job too many.
      const response = await fetch(`${runtime.url}/jobs`, request).catch(() =>
        fetch(`${runtime.url}/jobs`, request),
      );
      if (response.status !== 201) throw new Error(`job create answered ${response.status}`);
    };
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (created < BURST_JOBS) {
          created++;
          await createJob(`tick ${created}`);
        }
      }),
    );
    // Runs of the minute the jobs were made in (some jobs exist before it ends) are not the burst.
    const burstAt = Math.ceil((Date.now() + 5_000) / 60_000) * 60_000;
    const scheduledAt = new Date(burstAt).toISOString();
    console.log(`\nscheduler burst: ${BURST_JOBS} jobs on * * * * *, waiting for the fire at ${scheduledAt}`);
    // Read only once the burst is over (the scheduler idle, the queues drained), so the measurement
    // takes none of DynamoDB Local's time from the runs it measures.
    const ownCpuMs = () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    };
    await sleep(burstAt - Date.now() - 1_000);
    // CPU from just before the fire until the runs are done (before the reads below): the runtime's (this
    // process) and DynamoDB Local's, which the load of a shared machine moves far less than lateness.
    const burstCpu = { own: ownCpuMs(), db: await cpuMs(db.pid) };
    await sleep(burstAt - Date.now() + 2_000);
    await runtime.scheduler.idle();
    await runtime.queues.drained({ timeoutMs: 300_000 });
    const burstSpent = { own: ownCpuMs() - burstCpu.own, db: (await cpuMs(db.pid)) - burstCpu.db };
    const store = new DynamoExecutionStore(documents, tableName, { items: 10_000, queries: 200 });
    const lateness: number[] = [];
    const deadline = Date.now() + 300_000;
    for (;;) {
      await runtime.scheduler.idle();
      await runtime.queues.drained({ timeoutMs: 300_000 });
      lateness.length = 0;
      let cursor: string | undefined;
      let pending = 0;
      do {
        const page = await store.listRecent({ limit: 500, ...(cursor && { cursor }) });
        for (const execution of page.executions) {
          if (execution.scheduled_at !== scheduledAt) continue;
          if (execution.lateness_ms === null) pending++;
          else lateness.push(execution.lateness_ms);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      if ((lateness.length >= BURST_JOBS && pending === 0) || Date.now() > deadline) break;
      await sleep(1_000);
    }
    await runtime.queues.drained({ timeoutMs: 120_000 });
    lateness.sort((a, b) => a - b);
    const p = (q: number) =>
      lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))] ?? Number.NaN;

    // Baseline: the same number of runs written bare — create, claim, finish — 16 at a time.
    const bareTable = tableName;
    const bareCpu = { own: ownCpuMs(), db: await cpuMs(db.pid) };
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < BURST_JOBS) {
          const id = `exec_${Date.now().toString(36)}${randomBytes(10).toString('hex')}`;
          next++;
          const key = { pk: `BARE#${id.at(-1)}`, sk: `EXEC#${id}` };
          await documents.send(
            new PutCommand({ TableName: bareTable, Item: { ...key, st: 'queued', doc: 'd'.repeat(500) } }),
          );
          await documents.send(
            new UpdateCommand({
              TableName: bareTable,
              Key: key,
              UpdateExpression: 'SET st = :s',
              ExpressionAttributeValues: { ':s': 'running' },
            }),
          );
          await documents.send(
            new UpdateCommand({
              TableName: bareTable,
              Key: key,
              UpdateExpression: 'SET st = :s, #out = :o',
              ExpressionAttributeNames: { '#out': 'out' },
              ExpressionAttributeValues: { ':s': 'succeeded', ':o': 'o'.repeat(100) },
            }),
          );
        }
      }),
    );
    const bareMs = performance.now() - t0;
    const bareSpent = { own: ownCpuMs() - bareCpu.own, db: (await cpuMs(db.pid)) - bareCpu.db };
    console.log(
      `  runs started: ${lateness.length} of ${BURST_JOBS}; lateness min ${lateness[0]} ms, p10 ${p(0.1)} ms, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${lateness.at(-1)} ms`,
    );
    console.log(
      `  bare writes of ${BURST_JOBS} runs (create, claim, finish): ${bareMs.toFixed(0)} ms → p99 lateness ${(p(0.99) / bareMs).toFixed(2)}x`,
    );
    const perRun = (spent: { own: number; db: number }) =>
      `${(spent.own / BURST_JOBS).toFixed(2)} ms + DynamoDB Local ${(spent.db / BURST_JOBS).toFixed(2)} ms`;
    console.log(
      `  CPU per run: runtime ${perRun(burstSpent)} · bare writes ${perRun(bareSpent)} → ` +
        `${((burstSpent.own + burstSpent.db) / (bareSpent.own + bareSpent.db)).toFixed(2)}x (load average ${loadavg()
          .map((value) => value.toFixed(1))
          .join(' ')})`,
    );
  } finally {
    await runtime.stop();
    client.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }
}

try {
  if (PART === 'all' || PART === 'ingress') await ingress();
  if (PART === 'all' || PART === 'scheduler') await schedulerBurst();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await sleep(500);
  await db.stop();
}
