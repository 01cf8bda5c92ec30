import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';

// `npm start` for real, as a child process: the start script execs node, so the signals npm forwards
// reach main.ts. It runs its own DynamoDB Local unless JOBS_DYNAMODB_ENDPOINT says otherwise.

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
const STARTUP_TIMEOUT_MS = 60_000;
export const JOB_BODY = '{"name":"Daily Health Check","trigger_type":"manual","prompt_template":"Check"}';
// A job without an entity runs on the deployment's default entity, which must exist before the job.
export const DEFAULT_ENTITY_BODY =
  '{"type":"workflow","name":"Default","target":{"type":"echo"},"default":true}';

export interface RunningMain {
  child: ChildProcess;
  url: string;
  apiKey: string;
  output(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export const children = new Set<ChildProcess>();
export const tempDirs: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jobs-main-'));
  tempDirs.push(dir);
  return dir;
}

/** Environment for a child: ours minus every variable main.ts reads, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of [
    'PORT',
    'JOBS_DATA_DIR',
    'JOBS_DYNAMODB_ENDPOINT',
    'JOBS_TABLE_NAME',
    'LOG_LEVEL',
    'JOBS_WORKER_TIMEOUT_SECONDS',
  ]) {
    delete base[name];
  }
  return { ...base, LOG_LEVEL: 'warn', ...env };
}

export function spawnMain(env: Record<string, string>): {
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
export async function startMain(env: Record<string, string>): Promise<RunningMain> {
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

export interface ProcessInfo {
  pid: number;
  ppid: number;
  args: string;
}

export function processes(): ProcessInfo[] {
  const text = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return text
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ pid: Number(match[1]), ppid: Number(match[2]), args: match[3] ?? '' }));
}

export function isDynamoDbLocal(info: ProcessInfo): boolean {
  return info.args.includes('DynamoDBLocal.jar');
}

/** DynamoDB Local processes whose command line mentions `dataDir` (their `-dbPath` is inside it). */
export function javaUsing(dataDir: string): ProcessInfo[] {
  return processes().filter((info) => isDynamoDbLocal(info) && info.args.includes(dataDir));
}

/** DynamoDB Local processes started, directly or not, by `pid`. */
export function javaDescendantsOf(pid: number): ProcessInfo[] {
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
export async function expectNoJava(find: () => ProcessInfo[]): Promise<void> {
  await expect
    .poll(() => find().filter((info) => !info.args.includes('<defunct>')), { timeout: 5_000 })
    .toEqual([]);
}

export async function call(url: string, init: { method?: string; apiKey?: string; body?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.apiKey) headers.authorization = `Bearer ${init.apiKey}`;
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body });
  return { status: response.status, body: await response.text() };
}

/** Kills every child still running and removes the temp dirs (an `afterAll` of each test file using these). */
export async function cleanUpMainProcesses(): Promise<void> {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
