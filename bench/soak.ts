/**
 * Soak: the local runtime as users run it (`node infra/local/main.ts`, its own DynamoDB Local), flooded with
 * signed webhook deliveries and manual triggers (a share of them invalid, a share of deliveries replayed),
 * killed with SIGKILL a third of the way in and stopped with SIGTERM at two thirds, restarted each time.
 * Everything listens on loopback. At the end every acknowledged run must have finished (lost = 0) and no
 * run may exist twice or reach its target twice for one attempt (duplicated = 0). Latency is shown as p50/p99
 * and as a ratio to `GET /health` on the same runtime in the same run.
 *
 *   npx tsx bench/soak.ts [seconds=60] [concurrency=32]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFreePort } from '../infra/local/dynamodb-local.js';
import { signStandardWebhook } from '../shared/domain/signature.js';

const SECONDS = Number(process.argv[2] ?? 60);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const MAX_REQUESTS = 20_000;
const SETTLE_TIMEOUT_MS = 180_000;
const ROOT = resolve(import.meta.dirname, '..');

// ── The target: an http agent answering after a short random wait, counting what it receives ──────────
const received = new Map<string, number>(); // `${execution_id}#${attempt}` → requests
const agent = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => {
    body += chunk.toString();
  });
  req.on('end', () => {
    try {
      const request = JSON.parse(body) as { execution_id: string; attempt: number };
      const key = `${request.execution_id}#${request.attempt}`;
      received.set(key, (received.get(key) ?? 0) + 1);
    } catch {
      // Counted nowhere: not a run.
    }
    setTimeout(
      () => {
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      },
      20 + Math.random() * 200,
    );
  });
});
await new Promise<void>((resolveListen) => agent.listen(0, '127.0.0.1', resolveListen));
const agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}/run`;

// ── The runtime, as a child process on a fixed port so restarts keep the URL ─────────────────────────
const dataDir = await mkdtemp(join(tmpdir(), 'jobs-soak-'));
const port = await findFreePort();
const base = `http://127.0.0.1:${port}`;
let child: ChildProcess | null = null;
let apiKey = '';

async function startRuntime(): Promise<void> {
  const started = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      JOBS_DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      JOBS_WORKER_TIMEOUT_SECONDS: '10',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = started;
  let output = '';
  started.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  started.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 60_000;
  while (!/API key\s+(sjk_\S+)/.test(output)) {
    if (started.exitCode !== null || Date.now() > deadline)
      throw new Error(`runtime did not start:\n${output}`);
    await sleep(100);
  }
  apiKey = /API key\s+(sjk_\S+)/.exec(output)?.[1] ?? '';
}

async function stopRuntime(signal: NodeJS.Signals): Promise<void> {
  const running = child;
  if (!running) return;
  const exited = new Promise((resolveExit) => running.once('exit', resolveExit));
  running.kill(signal);
  await exited;
  child = null;
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as unknown) : null };
}

// ── Setup ────────────────────────────────────────────────────────────────────────────────────────────
await startRuntime();
const entity = (
  await api('POST', '/entities', {
    type: 'agent',
    name: 'soak agent',
    target: { type: 'http', url: agentUrl },
  })
).json as { id: string };
const manual = (
  await api('POST', '/jobs', {
    name: 'soak manual',
    trigger_type: 'manual',
    prompt_template: 'Item {{ n }}',
    entity_type: 'agent',
    entity_id: entity.id,
    config: { retry: { max_attempts: 3, backoff_seconds: 1 } },
  })
).json as { id: string };
const hook = (
  await api('POST', '/jobs', {
    name: 'soak webhook',
    trigger_type: 'webhook',
    prompt_template: 'Delivery {{ n }}',
    entity_type: 'agent',
    entity_id: entity.id,
    config: { retry: { max_attempts: 3, backoff_seconds: 1 } },
  })
).json as { id: string; webhook_url: string; webhook_secret: string };
const webhookPath = new URL(hook.webhook_url).pathname;

// ── The flood ────────────────────────────────────────────────────────────────────────────────────────
type Kind = 'manual' | 'webhook' | 'replay' | 'invalid' | 'health';
const latencies: Record<Kind, number[]> = { manual: [], webhook: [], replay: [], invalid: [], health: [] };
const acknowledged = new Map<string, string>(); // execution id → job id
const deliveries = new Map<string, string>(); // webhook-id → first execution id
const counts = { sent: 0, accepted: 0, rejectedAsExpected: 0, refused: 0, unexpected: 0, replayMismatch: 0 };
let down = false;

function signed(id: string, body: string, secret = hook.webhook_secret): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook({ id, timestamp, body, secret }),
  };
}

async function one(n: number): Promise<void> {
  const roll = Math.random();
  const kind: Kind =
    roll < 0.4
      ? 'manual'
      : roll < 0.75
        ? 'webhook'
        : roll < 0.85
          ? 'replay'
          : roll < 0.97
            ? 'invalid'
            : 'health';
  const started = performance.now();
  let response: Response;
  let replayOf: string | undefined;
  try {
    if (kind === 'manual') {
      response = await fetch(`${base}/jobs/${manual.id}/trigger`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ parameters: { n } }),
      });
    } else if (kind === 'webhook' || kind === 'replay') {
      const known = [...deliveries.keys()];
      replayOf =
        kind === 'replay' && known.length > 0 ? known[Math.floor(Math.random() * known.length)] : undefined;
      const id = replayOf ?? `msg_${randomUUID()}`;
      const body = JSON.stringify({ parameters: { n } });
      response = await fetch(`${base}${webhookPath}`, { method: 'POST', headers: signed(id, body), body });
      if (!replayOf && response.status === 202) deliveries.set(id, '');
      if (!replayOf) replayOf = id;
    } else if (kind === 'invalid') {
      const variant = n % 3;
      const body = variant === 0 ? '{"parameters": {' : JSON.stringify({ parameters: { n } });
      const headers =
        variant === 1
          ? signed(`msg_${randomUUID()}`, body, 'whsec_aW52YWxpZC1zZWNyZXQtaW52YWxpZC1zZWNyZXQ=')
          : signed(`msg_${randomUUID()}`, body);
      response = await fetch(variant === 2 ? `${base}/webhooks/${'x'.repeat(32)}` : `${base}${webhookPath}`, {
        method: 'POST',
        headers,
        body,
      });
    } else {
      response = await fetch(`${base}/health`);
    }
  } catch {
    counts.refused++; // the runtime is down or stopping: back off a little, as a client would
    await sleep(50);
    return;
  }
  const text = await response.text();
  latencies[kind].push(performance.now() - started);
  if (kind === 'health') return;
  if (response.status === 503) {
    counts.refused++;
    return;
  }
  if (kind === 'invalid') {
    if (response.status >= 400 && response.status < 500) counts.rejectedAsExpected++;
    else counts.unexpected++;
    return;
  }
  if (response.status !== 202) {
    counts.unexpected++;
    return;
  }
  counts.accepted++;
  const executionId = (JSON.parse(text) as { execution_id: string }).execution_id;
  acknowledged.set(executionId, kind === 'manual' ? manual.id : hook.id);
  if (replayOf !== undefined) {
    const first = deliveries.get(replayOf);
    if (first === '' || first === undefined) deliveries.set(replayOf, executionId);
    else if (first !== executionId) counts.replayMismatch++;
  }
}

const startedAt = Date.now();
const endsAt = startedAt + SECONDS * 1000;
let next = 0;
async function caller(): Promise<void> {
  while (Date.now() < endsAt && next < MAX_REQUESTS) {
    if (down) {
      await sleep(50);
      continue;
    }
    counts.sent++;
    await one(next++);
  }
}

async function disrupt(): Promise<void> {
  await sleep((SECONDS * 1000) / 3);
  down = true;
  await stopRuntime('SIGKILL');
  down = false;
  await startRuntime();
  await sleep((SECONDS * 1000) / 3);
  // A clean stop mid-flood: the callers keep sending while it drains (they get 503 or a refused connection).
  await stopRuntime('SIGTERM');
  down = true;
  await startRuntime();
  down = false;
}

console.log(`soak: ${SECONDS} s, ${CONCURRENCY} callers, runtime on ${base}, agent on ${agentUrl}`);
await Promise.all([disrupt(), ...Array.from({ length: CONCURRENCY }, caller)]);

// ── Settle and count ─────────────────────────────────────────────────────────────────────────────────
type Execution = { execution_id: string; status: string; attempt: number };
async function history(jobId: string): Promise<Execution[]> {
  const all: Execution[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
    const page = (await api('GET', `/jobs/${jobId}/executions${query}`)).json as {
      executions: Execution[];
      next_cursor: string | null;
    };
    all.push(...page.executions);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}
const FINISHED = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']);
const settleStarted = Date.now();
let stored: Execution[] = [];
for (;;) {
  stored = [...(await history(manual.id)), ...(await history(hook.id))];
  const byId = new Map(stored.map((execution) => [execution.execution_id, execution]));
  const open = [...acknowledged.keys()].filter((id) => !FINISHED.has(byId.get(id)?.status ?? ''));
  if (open.length === 0 || Date.now() - settleStarted > SETTLE_TIMEOUT_MS) break;
  await sleep(1_000);
}
const settledInMs = Date.now() - settleStarted;
const byId = new Map(stored.map((execution) => [execution.execution_id, execution]));
const terminal = [...acknowledged.keys()].filter((id) => FINISHED.has(byId.get(id)?.status ?? '')).length;
const lost = acknowledged.size - terminal;
const twiceAtTarget = [...received.values()].filter((count) => count > 1).length;
const duplicated = new Set(stored.map((execution) => execution.execution_id)).size !== stored.length ? 1 : 0;
const statuses = Object.fromEntries(
  [...new Set(stored.map((execution) => execution.status))].map((status) => [
    status,
    stored.filter((execution) => execution.status === status).length,
  ]),
);
await stopRuntime('SIGTERM');
agent.close();
await rm(dataDir, { recursive: true, force: true });

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const health = { p50: percentile(latencies.health, 50), p99: percentile(latencies.health, 99) };
console.log('\nrequests', { ...counts });
console.log('runs', {
  acknowledged: acknowledged.size,
  terminal,
  lost,
  duplicated: duplicated + counts.replayMismatch + twiceAtTarget,
  storedWithoutAcknowledgement: stored.length - acknowledged.size,
  statuses,
  settledAfterFloodMs: settledInMs,
});
console.log(
  '\nlatency (ms), and as a ratio to GET /health on the same runtime (p50 %s ms, p99 %s ms)',
  health.p50.toFixed(1),
  health.p99.toFixed(1),
);
for (const kind of ['manual', 'webhook', 'replay', 'invalid'] as const) {
  const p50 = percentile(latencies[kind], 50);
  const p99 = percentile(latencies[kind], 99);
  console.log(
    `  ${kind.padEnd(8)} n=${String(latencies[kind].length).padStart(6)}  p50 ${p50.toFixed(1).padStart(7)} (${(p50 / health.p50).toFixed(1)}x)  p99 ${p99.toFixed(1).padStart(7)} (${(p99 / health.p99).toFixed(1)}x)`,
  );
}
if (lost > 0 || duplicated + counts.replayMismatch + twiceAtTarget > 0 || counts.unexpected > 0) {
  console.error('\nFAIL: lost, duplicated or unexpected answers above');
  process.exit(1);
}
console.log('\nOK: nothing lost, nothing duplicated');
