/**
 * A receiver for a `webhook` notification channel: Serverless Jobs POSTs each alert (run.failed,
 * job.failing, job.paused, job.recovered, fire.missed, run.overdue, test) as JSON signed with Standard
 * Webhooks headers. This receiver checks the signature with node:crypto alone (standard-webhooks.ts), refuses anything unsigned,
 * forged or stale with 401, drops a notification it has already seen (a retry after a lost answer keeps
 * its `webhook-id`), and prints one line per alert.
 *
 *   CHANNEL_SIGNING_SECRET='whsec_…' PORT=4001 npx tsx examples/alert-receiver.ts
 *
 * The secret is the channel's `signing_secret`, returned once by `POST /notification-channels`. Answer
 * 2xx quickly: a 5xx, a 429 or no answer within 10 s is retried with backoff for about a day.
 */
import { createServer } from 'node:http';
import { header, verifierFromEnv } from './standard-webhooks.js';

const MAX_BODY_BYTES = 256 * 1024;

const verified = verifierFromEnv('CHANNEL_SIGNING_SECRET', "channel's");
const port = Number(process.env.PORT ?? 4001);
/** Event ids already handled (a real receiver would keep them in its database for a day or two). */
const seen = new Set<string>();

/** The fields of a notification this receiver prints. */
interface Notification {
  type: string;
  id: string;
  occurred_at: string;
  job: { id: string; name: string } | null;
  execution: { execution_id: string; status: string; error_message: string | null } | null;
  consecutive_failures: number;
  message: string;
}

const server = createServer((req, res) => {
  if (req.method !== 'POST') return res.writeHead(405).end();
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) return res.writeHead(413).end();
    const rawBody = Buffer.concat(chunks);
    // Verify the bytes as received, before parsing: re-serialized JSON would not match.
    if (!verified(req.headers, rawBody)) {
      console.log(JSON.stringify({ refused: 'bad signature', webhookId: header(req.headers, 'webhook-id') }));
      return res.writeHead(401).end();
    }
    const alert = JSON.parse(rawBody.toString('utf8')) as Notification;
    if (seen.has(alert.id)) return res.writeHead(204).end();
    seen.add(alert.id);
    console.log(
      JSON.stringify({
        type: alert.type,
        job: alert.job?.name ?? null,
        execution: alert.execution?.execution_id ?? null,
        consecutive_failures: alert.consecutive_failures,
        message: alert.message,
      }),
    );
    res.writeHead(204).end();
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`Alert receiver listening on http://127.0.0.1:${port}/alerts`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
