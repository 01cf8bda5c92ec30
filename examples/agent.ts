/**
 * A small agent: the HTTP server an `http` entity points at. For each run, Serverless Jobs POSTs the
 * execution request (JSON: execution_id, job_id, entity, prompt, parameters, config, metadata,
 * environment, deadline_at, callback) signed with Standard Webhooks headers. This agent checks the
 * signature with node:crypto alone (standard-webhooks.ts), refuses anything unsigned, forged or stale with 401, and answers
 * 200 with a JSON output, which becomes the execution's `output`.
 *
 *   AGENT_SIGNING_SECRET='whsec_…' PORT=4000 npx tsx examples/agent.ts
 *
 * The secret is the entity's `signing_secret`, returned once by `POST /entities` (16-agent-job.ts
 * registers the entity and prints it). Work that outlasts the request would answer 202 instead and
 * finish later by POSTing `{"status": "succeeded", "output": …}` to `callback.url` with
 * `Authorization: Bearer <callback.token>`.
 */
import { createServer } from 'node:http';
import { header, verifierFromEnv } from './standard-webhooks.js';

/** Largest request body read. */
const MAX_BODY_BYTES = 1024 * 1024;

const verifySignature = verifierFromEnv('AGENT_SIGNING_SECRET', "entity's");
const port = Number(process.env.PORT ?? 4000);

/** The fields of the execution request this agent reads. */
interface ExecutionRequest {
  execution_id: string;
  job_name: string;
  entity: { id: string; type: string; name: string };
  prompt: string;
  parameters: Record<string, unknown>;
  attempt: number;
}

/** The body as an execution request, or null when it is not JSON of that shape. */
function parseExecutionRequest(rawBody: Buffer): ExecutionRequest | null {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return null;
  }
  const request = body as Partial<ExecutionRequest> | null;
  const valid =
    typeof request?.execution_id === 'string' &&
    typeof request.prompt === 'string' &&
    typeof request.entity?.id === 'string' &&
    typeof request.parameters === 'object' &&
    request.parameters !== null;
  return valid ? (request as ExecutionRequest) : null;
}

/** The agent's work. A real one would call a model or a tool here; this one reports what it was asked. */
function run(request: ExecutionRequest) {
  return {
    agent: request.entity.id,
    answer: `Done: ${request.prompt.trim()}`,
    prompt: request.prompt,
    parameters: request.parameters,
    attempt: request.attempt,
  };
}

function log(message: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), message, ...fields }));
}

const server = createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/health') return reply(200, { status: 'ok' });
  if (req.method !== 'POST') return reply(405, { error: 'POST the execution request' });

  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    // Past the limit the rest is read and dropped, so the 413 still reaches the sender.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) return reply(413, { error: 'body too large' });
    const rawBody = Buffer.concat(chunks);
    // Verify the bytes as received, before parsing: re-serialized JSON would not match.
    if (!verifySignature(req.headers, rawBody)) {
      log('refused: bad signature', { path: req.url, webhookId: header(req.headers, 'webhook-id') });
      return reply(401, { error: 'invalid signature' });
    }
    const request = parseExecutionRequest(rawBody);
    // A 4xx other than 408/429 fails the run at once; the service does not retry it.
    if (request === null) return reply(400, { error: 'the body is not an execution request' });
    log('run', { executionId: request.execution_id, jobName: request.job_name, attempt: request.attempt });
    try {
      reply(200, run(request));
    } catch (error) {
      // A 5xx makes the service retry the run (up to the job's retry.max_attempts).
      log('run failed', { executionId: request.execution_id, error: String(error) });
      reply(500, { error: 'the agent failed' });
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`Agent listening on http://127.0.0.1:${port}/run (GET /health answers without a signature)`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
