/**
 * `npm start`: the local runtime in the foreground. Prints where the API is and its key; Ctrl+C (SIGINT),
 * SIGTERM or SIGHUP stop it cleanly (no new requests, the queued runs drained for a while, then the
 * database) and exit 0; a second signal exits at once. If the process that started it goes away without
 * a signal (the `npm` wrapper killed), it stops the same way. Java never outlives this process:
 * `startDynamoDbLocal` kills it on every exit path.
 */
import { join } from 'node:path';
import { describeAllowedNetworks } from '../../shared/domain/target-network.js';
import { API_KEY_FILE } from './api-key.js';
import { type LocalRuntime, startLocalRuntime } from './runtime.js';

// The AWS SDK warns on Node 20 that later releases will need Node 22: a notice for deployments (which run
// nodejs22.x), not for the local runtime, whose only AWS service is DynamoDB Local.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_NUMBERS: Record<(typeof SIGNALS)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
/** Bounds the whole stop: the drain of the queues (15 s) plus closing the server and the database. */
const STOP_TIMEOUT_MS = 30_000;
const PARENT_CHECK_INTERVAL_MS = 1_000;

let runtime: LocalRuntime | undefined;
let stopping = false;

function banner(started: LocalRuntime): string {
  const keyNote = started.apiKeyCreated ? 'new key, saved in' : 'from';
  const exposure = started.dynamodbLocal?.loopbackOnly
    ? 'this machine only'
    : 'WARNING: reachable from the network, this Java has no security manager';
  const database = started.dynamodbLocal
    ? `${started.dynamodbEndpoint} (DynamoDB Local, ${exposure}; data in ${join(started.dataDir, 'dynamodb')})`
    : `${started.dynamodbEndpoint} (JOBS_DYNAMODB_ENDPOINT)`;
  return [
    '',
    'Serverless Jobs is running locally.',
    `  API       ${started.url}`,
    `  Console   ${started.consoleUrl}  (sign in with the API key below)`,
    `  API key   ${started.apiKey}  (${keyNote} ${join(started.dataDir, API_KEY_FILE)})`,
    `  Data dir  ${started.dataDir}`,
    `  DynamoDB  ${database}, table ${started.tableName}`,
    `  Targets   http targets may reach ${describeAllowedNetworks(started.allowedTargetNetworks)} (allowedTargetNetworks in jobs.config.json)`,
    started.awsRegion === null
      ? '            lambda, stepfunctions, sqs and eventbridge targets need AWS: set AWS_REGION and AWS_PROFILE (or keys) to call it'
      : `            lambda, stepfunctions, sqs and eventbridge targets call AWS in ${started.awsRegion}`,
    '',
    'Try it:',
    `  curl -H "Authorization: Bearer ${started.apiKey}" ${started.url}/jobs`,
    '',
    'Press Ctrl+C to stop.',
    '',
  ].join('\n');
}

/** Stops within a bound; whatever is still running afterwards dies with the process (see module doc). */
async function stopRuntime(): Promise<void> {
  if (!runtime) return;
  await Promise.race([
    runtime.stop(),
    new Promise((resolveLater) => setTimeout(resolveLater, STOP_TIMEOUT_MS)),
  ]);
}

function onSignal(signal: (typeof SIGNALS)[number]): void {
  const exitCode = 128 + SIGNAL_NUMBERS[signal];
  if (stopping || !runtime) {
    // Second signal, or a signal while still starting: leave now; the exit hook kills java.
    runtime?.dynamodbLocal?.kill();
    process.exit(exitCode);
  }
  stopGracefully(`${signal} received`);
}

function stopGracefully(reason: string): void {
  stopping = true;
  process.stdout.write(`\n${reason}, stopping (finishing queued runs for up to 15 s)…\n`);
  stopRuntime().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('Failed to stop cleanly:', error);
      process.exit(1);
    },
  );
}

async function onFatal(error: unknown): Promise<void> {
  console.error('Fatal error in the local runtime:', error);
  if (!stopping) {
    stopping = true;
    await stopRuntime().catch(() => {});
  }
  runtime?.dynamodbLocal?.kill();
  process.exit(1);
}

/**
 * `npm start` runs node under npm: if npm is killed outright, no signal reaches us and we are re-parented.
 * Noticing that, we stop as if told to, rather than serve on with nobody to stop us.
 */
function watchParent(): void {
  const parent = process.ppid;
  if (parent <= 1) return; // Started detached on purpose (a service manager): nothing to watch.
  const timer = setInterval(() => {
    if (process.ppid === parent || stopping) return;
    clearInterval(timer);
    if (!runtime) {
      process.exit(1);
    }
    stopGracefully('The process that started the runtime is gone');
  }, PARENT_CHECK_INTERVAL_MS);
  timer.unref();
}

async function main(): Promise<void> {
  for (const signal of SIGNALS) process.on(signal, () => onSignal(signal));
  // With the terminal or npm gone, a write to stdout fails: that must not turn a clean stop into a crash.
  process.stdout.on('error', () => {});
  watchParent();
  process.on('uncaughtException', (error) => void onFatal(error));
  process.on('unhandledRejection', (reason) => void onFatal(reason));

  try {
    runtime = await startLocalRuntime();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EADDRINUSE'
        ? ' The port is taken: stop the other server or set PORT (0 picks a free one).'
        : '';
    console.error(`Could not start the local runtime.${hint}\n`, error);
    process.exit(1);
  }
  process.stdout.write(banner(runtime));
  void runtime.dynamodbLocal?.exited.then(onDatabaseExit);
}

/** A server whose database died would answer every request with a 500: better to stop and say so. */
function onDatabaseExit(): void {
  // A Ctrl+C in the terminal reaches java as well, and it may exit before our own handler has run.
  setTimeout(() => {
    if (stopping) return;
    stopping = true;
    console.error('DynamoDB Local exited unexpectedly; stopping.');
    void stopRuntime().finally(() => process.exit(1));
  }, 1_000).unref();
}

await main();
