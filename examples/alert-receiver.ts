/**
 * A receiver for a `webhook` notification channel: Serverless Jobs POSTs each alert (run.failed,
 * job.failing, job.paused, job.recovered, fire.missed, run.overdue, test) as JSON signed with Standard
 * Webhooks headers. This receiver checks the signature with node:crypto alone, refuses anything unsigned,
 * forged or stale with 401, drops a notification it has already seen (a retry after a lost answer keeps
 * its `webhook-id`), and prints one line per alert.
 *
 *   CHANNEL_SIGNING_SECRET='whsec_…' PORT=4001 npx tsx examples/alert-receiver.ts
 *
 * The secret is the channel's `signing_secret`, returned once by `POST /notification-channels`. Answer
 * 2xx quickly: a 5xx, a 429 or no answer within 10 s is retried with backoff for about a day.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';

/** How far `webhook-timestamp` may be from now, either way: older deliveries are refused as replays. */
const TOLERANCE_SECONDS = 300;
const MAX_BODY_BYTES = 256 * 1024;

const secret = process.env.CHANNEL_SIGNING_SECRET ?? '';
if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
  console.error('Set CHANNEL_SIGNING_SECRET to the channel\'s signing secret ("whsec_…").');
  process.exit(1);
}
// The HMAC key is the base64-decoded part after "whsec_", not the string itself.
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
const port = Number(process.env.PORT ?? 4001);
/** Event ids already handled (a real receiver would keep them in its database for a day or two). */
const seen = new Set<string>();

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` entries. */
function verified(headers: IncomingHttpHeaders, rawBody: Buffer): boolean {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(rawBody).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) return false;
    const presented = Buffer.from(signature, 'base64');
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  });
}

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
