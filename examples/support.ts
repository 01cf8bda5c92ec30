/**
 * Helpers the examples share. Nothing here is needed to use the SDK: copy an example and replace
 * `localConnection()` with your own URL and key (or set JOBS_API_URL and JOBS_API_KEY and call
 * `new ControlPlaneClient()` with no options).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ControlPlaneClient, ControlPlaneClientOptions, Execution } from 'serverless-jobs/client';

/** Where `npm start` serves the API unless `PORT` says otherwise. */
export const LOCAL_API_URL = 'http://127.0.0.1:3000';

/**
 * The service URL and API key: `JOBS_API_URL` and `JOBS_API_KEY` when set. Otherwise, for a service on
 * this machine only, the `npm start` defaults: `http://127.0.0.1:3000` and the key it saved in
 * `.data/api-key` (or `$JOBS_DATA_DIR/api-key`), read from the directory the example runs in.
 */
export function localConnection(): ControlPlaneClientOptions {
  const baseUrl = process.env.JOBS_API_URL || LOCAL_API_URL;
  const apiKey = process.env.JOBS_API_KEY || (isLocal(baseUrl) ? readLocalApiKey() : undefined);
  // Without a key the client's constructor explains what to set.
  return { baseUrl, ...(apiKey !== undefined && { apiKey }) };
}

function isLocal(url: string): boolean {
  const { hostname } = new URL(url);
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

function readLocalApiKey(): string | undefined {
  const file = resolve(process.env.JOBS_DATA_DIR || '.data', 'api-key');
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    // No key file: not started here, or started with another data dir.
    return undefined;
  }
}

/** Statuses a run never leaves. */
const FINISHED = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']);

/**
 * Polls an execution until it has finished and returns it: what the reference does with
 * `time.sleep(5)`, without guessing how long the run takes.
 */
export async function waitForExecution(
  client: ControlPlaneClient,
  jobId: string,
  executionId: string,
  timeoutMs = 30_000,
): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await client.jobs.getExecution(jobId, executionId);
    if (FINISHED.has(execution.status)) return execution;
    if (Date.now() > deadline) {
      throw new Error(`Execution ${executionId} is still ${execution.status} after ${timeoutMs} ms.`);
    }
    await new Promise((resolveLater) => setTimeout(resolveLater, 200));
  }
}

/** True when the example was run with `--keep`: the jobs it creates are left in place to look at. */
export const keepJobs = process.argv.includes('--keep');

/**
 * Deletes a job the example created, so it can run again and again without piling up jobs, unless it
 * was run with `--keep`.
 */
export async function cleanUp(client: ControlPlaneClient, jobId: string): Promise<void> {
  if (keepJobs) {
    console.log(`Kept job ${jobId} (--keep).`);
    return;
  }
  await client.jobs.delete(jobId);
  console.log(`Cleaned up: deleted job ${jobId} (run with --keep to keep it).`);
}
