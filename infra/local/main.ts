/**
 * `npm start`: the local runtime in the foreground. Prints where the API is and its key; Ctrl+C (SIGINT),
 * SIGTERM or SIGHUP stop it cleanly and exit 0; a second signal exits at once. Java never outlives this
 * process: `startDynamoDbLocal` kills it on every exit path.
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
const STOP_TIMEOUT_MS = 10_000;

let runtime: LocalRuntime | undefined;
let stopping = false;

function banner(started: LocalRuntime): string {
  const keyNote = started.apiKeyCreated ? 'new key, saved in' : 'from';
  const database = started.dynamodbLocal
    ? `${started.dynamodbEndpoint} (DynamoDB Local, data in ${join(started.dataDir, 'dynamodb')})`
    : `${started.dynamodbEndpoint} (JOBS_DYNAMODB_ENDPOINT)`;
  return [
    '',
    'Serverless Jobs is running locally.',
    `  API       ${started.url}`,
    `  API key   ${started.apiKey}  (${keyNote} ${join(started.dataDir, API_KEY_FILE)})`,
    `  Data dir  ${started.dataDir}`,
    `  DynamoDB  ${database}, table ${started.tableName}`,
    `  Targets   http targets may reach ${describeAllowedNetworks(started.allowedTargetNetworks)} (allowedTargetNetworks in jobs.config.json)`,
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
  stopping = true;
  process.stdout.write(`\n${signal} received, stopping…\n`);
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

async function main(): Promise<void> {
  for (const signal of SIGNALS) process.on(signal, () => onSignal(signal));
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
