import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureLocalApiKey } from '../../infra/local/api-key.js';
import { deleteLocalTable } from '../support/local-runtime.js';

// `npm start` for real, as a child process: the start script execs node, so the signals npm forwards
// reach main.ts. It runs its own DynamoDB Local unless JOBS_DYNAMODB_ENDPOINT says otherwise.

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const STARTUP_TIMEOUT_MS = 60_000;
const JOB_BODY = '{"name":"Daily Health Check","trigger_type":"manual","prompt_template":"Check"}';
// A job without an entity runs on the deployment's default entity, which must exist before the job.
const DEFAULT_ENTITY_BODY = '{"type":"workflow","name":"Default","target":{"type":"echo"},"default":true}';

interface RunningMain {
  child: ChildProcess;
  url: string;
  apiKey: string;
  output(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jobs-main-'));
  tempDirs.push(dir);
  return dir;
}

/** Environment for a child: ours minus every variable main.ts reads, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of ['PORT', 'JOBS_DATA_DIR', 'JOBS_DYNAMODB_ENDPOINT', 'JOBS_TABLE_NAME', 'LOG_LEVEL']) {
    delete base[name];
  }
  return { ...base, LOG_LEVEL: 'warn', ...env };
}

function spawnMain(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn('npm', ['start', '--silent'], { cwd: REPO_ROOT, env: childEnv(env), stdio: 'pipe' });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolveExit(code);
    });
  });
  return { child, output: () => output, exited };
}

/** Starts main.ts and waits for its banner; fails with the output if it exits or takes too long. */
async function startMain(env: Record<string, string>): Promise<RunningMain> {
  const { child, output, exited } = spawnMain({ PORT: '0', ...env });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    const url = /^\s*API\s+(http:\/\/\S+)/m.exec(output())?.[1];
    const apiKey = /^\s*API key\s+(\S+)/m.exec(output())?.[1];
    if (url && apiKey) {
      return {
        child,
        url,
        apiKey,
        output,
        exited,
        stop: async (signal = 'SIGINT') => {
          child.kill(signal);
          return exited;
        },
      };
    }
    if (exitCode !== undefined) throw new Error(`main.ts exited (${exitCode}) before serving:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`main.ts did not print its banner in time:\n${output()}`);
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
  }
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  args: string;
}

function processes(): ProcessInfo[] {
  const text = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return text
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ pid: Number(match[1]), ppid: Number(match[2]), args: match[3] ?? '' }));
}

function isDynamoDbLocal(info: ProcessInfo): boolean {
  return info.args.includes('DynamoDBLocal.jar');
}

/** DynamoDB Local processes whose command line mentions `dataDir` (their `-dbPath` is inside it). */
function javaUsing(dataDir: string): ProcessInfo[] {
  return processes().filter((info) => isDynamoDbLocal(info) && info.args.includes(dataDir));
}

/** DynamoDB Local processes started, directly or not, by `pid`. */
function javaDescendantsOf(pid: number): ProcessInfo[] {
  const all = processes();
  const descendants = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const info of all) {
      if (descendants.has(info.ppid) && !descendants.has(info.pid)) {
        descendants.add(info.pid);
        grew = true;
      }
    }
  }
  return all.filter((info) => descendants.has(info.pid) && isDynamoDbLocal(info));
}

/** Java may take a moment to be reaped after its parent saw it exit. */
async function expectNoJava(find: () => ProcessInfo[]): Promise<void> {
  await expect
    .poll(() => find().filter((info) => !info.args.includes('<defunct>')), { timeout: 5_000 })
    .toEqual([]);
}

async function call(url: string, init: { method?: string; apiKey?: string; body?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.apiKey) headers.authorization = `Bearer ${init.apiKey}`;
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body });
  return { status: response.status, body: await response.text() };
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('ensureLocalApiKey', () => {
  it('creates the key in a 0700 dir with mode 0600, then returns the same key', async () => {
    // Prepare
    const dataDir = join(await tempDir(), 'nested', 'data');

    // Act
    const first = await ensureLocalApiKey(dataDir);
    const second = await ensureLocalApiKey(dataDir);

    // Assess
    expect(first).toEqual({ key: expect.stringMatching(/^sjk_[\w-]{43}$/), created: true });
    expect(second).toEqual({ key: first.key, created: false });
    expect((await readFile(join(dataDir, 'api-key'), 'utf8')).trim()).toBe(first.key);
    expect((await stat(join(dataDir, 'api-key'))).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });

  it('reads a key surrounded by whitespace and replaces an empty file', async () => {
    const withKey = await tempDir();
    const empty = await tempDir();
    await writeFile(join(withKey, 'api-key'), '  sjk_existing \n');
    await writeFile(join(empty, 'api-key'), '\n', { mode: 0o644 });

    expect(await ensureLocalApiKey(withKey)).toEqual({ key: 'sjk_existing', created: false });
    const replaced = await ensureLocalApiKey(empty);
    expect(replaced.created).toBe(true);
    expect((await readFile(join(empty, 'api-key'), 'utf8')).trim()).toBe(replaced.key);
    expect((await stat(join(empty, 'api-key'))).mode & 0o777).toBe(0o600);
  });
});

describe('npm start (infra/local/main.ts) with its own DynamoDB Local', () => {
  // The tests share one data dir and run in order: the second starts where the first stopped.
  let dataDir: string;
  let firstKey: string;
  let jobId: string;

  beforeAll(async () => {
    dataDir = await tempDir();
  });

  it('prints the URL and key, serves the API with that key, and stops java on SIGINT', {
    timeout: 120_000,
  }, async () => {
    // Prepare
    const main = await startMain({ JOBS_DATA_DIR: dataDir });
    const keyFile = (await readFile(join(dataDir, 'api-key'), 'utf8')).trim();
    expect(javaUsing(dataDir)).toHaveLength(1);

    // Act
    const health = await call(`${main.url}/health`);
    const anonymous = await call(`${main.url}/jobs`);
    const withBannerKey = await call(`${main.url}/jobs`, { apiKey: main.apiKey });
    const withFileKey = await call(`${main.url}/jobs`, { apiKey: keyFile });
    await call(`${main.url}/entities`, { method: 'POST', apiKey: main.apiKey, body: DEFAULT_ENTITY_BODY });
    const created = await call(`${main.url}/jobs`, { method: 'POST', apiKey: main.apiKey, body: JOB_BODY });
    const exitCode = await main.stop('SIGINT');

    // Assess
    expect(main.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(main.apiKey).toMatch(/^sjk_/);
    expect(keyFile).toBe(main.apiKey);
    expect(main.output()).toContain(`curl -H "Authorization: Bearer ${main.apiKey}" ${main.url}/jobs`);
    expect(health.status).toBe(200);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).error.code).toBe('unauthorized');
    expect(withBannerKey.status).toBe(200);
    expect(withFileKey.status).toBe(200);
    expect(created.status, created.body).toBe(201);
    expect(exitCode, main.output()).toBe(0);
    await expectNoJava(() => javaUsing(dataDir));
    firstKey = main.apiKey;
    jobId = JSON.parse(created.body).id;
  });

  it('a second start on the same data dir keeps the key and the jobs', { timeout: 120_000 }, async () => {
    const main = await startMain({ JOBS_DATA_DIR: dataDir });

    const job = await call(`${main.url}/jobs/${jobId}`, { apiKey: firstKey });
    const exitCode = await main.stop('SIGTERM');

    expect(main.apiKey).toBe(firstKey);
    expect(job.status, job.body).toBe(200);
    expect(JSON.parse(job.body)).toMatchObject({
      id: jobId,
      name: 'Daily Health Check',
      trigger_type: 'manual',
    });
    expect(exitCode, main.output()).toBe(0);
    await expectNoJava(() => javaUsing(dataDir));
  });

  it('fails with a clear message and stops its java when the port is taken', {
    timeout: 120_000,
  }, async () => {
    // Prepare: a server holding a port
    const holder = await startMain({ JOBS_DATA_DIR: dataDir });
    const port = new URL(holder.url).port;
    const otherDataDir = await tempDir();

    // Act
    const second = spawnMain({ JOBS_DATA_DIR: otherDataDir, PORT: port });
    const exitCode = await second.exited;
    await holder.stop();

    // Assess: it got as far as starting java, then cleaned up after itself
    expect(exitCode, second.output()).toBe(1);
    expect(second.output()).toMatch(/port is taken/i);
    await expectNoJava(() => javaUsing(otherDataDir));
    await expectNoJava(() => javaUsing(dataDir));
  });
});

describe('npm start with JOBS_DYNAMODB_ENDPOINT', () => {
  const endpoint = inject('dynamodbEndpoint');
  const tableName = `e2e-main-${randomBytes(6).toString('hex')}`;

  afterAll(async () => {
    try {
      await deleteLocalTable(endpoint, tableName);
    } catch {
      // The test failed before creating it.
    }
  });

  it('uses that DynamoDB and starts no java of its own', { timeout: 120_000 }, async () => {
    const dataDir = await tempDir();
    const main = await startMain({
      JOBS_DATA_DIR: dataDir,
      JOBS_DYNAMODB_ENDPOINT: endpoint,
      JOBS_TABLE_NAME: tableName,
    });

    const ownJava = javaDescendantsOf(main.child.pid ?? -1);
    await call(`${main.url}/entities`, { method: 'POST', apiKey: main.apiKey, body: DEFAULT_ENTITY_BODY });
    const created = await call(`${main.url}/jobs`, { method: 'POST', apiKey: main.apiKey, body: JOB_BODY });
    const exitCode = await main.stop('SIGINT');

    expect(ownJava).toEqual([]);
    expect(main.output()).toContain(endpoint);
    // Local agents listen on this machine: the banner says loopback targets are allowed.
    expect(main.output()).toMatch(
      /^ {2}Targets {3}http targets may reach public and loopback addresses \(allowedTargetNetworks in jobs\.config\.json\)$/m,
    );
    expect(created.status, created.body).toBe(201);
    expect(exitCode, main.output()).toBe(0);
  });
});
