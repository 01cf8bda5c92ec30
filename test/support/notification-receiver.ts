import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Notification } from '../../shared/domain/notification.js';

/** One notification as received, with the verdict of an independent signature check. */
export interface ReceivedNotification {
  path: string;
  headers: IncomingHttpHeaders;
  body: Notification;
  /** The status the receiver answered. */
  answered: number;
  /** `standardwebhooks`' `Webhook.verify` with the path's secret accepted it. */
  verified: boolean;
}

export interface NotificationReceiver {
  /** `<base>/<path>`: a URL for a channel. */
  url(path: string): string;
  /** Every request so far, in arrival order. */
  readonly received: ReceivedNotification[];
  /** The signing secret of the channel at `path` (from its creation answer). */
  secrets: Map<string, string>;
  /** Statuses to answer at `path` from now on, in order; the last repeats (default 204). */
  script(path: string, ...statuses: number[]): void;
  /** Received requests at `path` that verified, in order. */
  at(path: string): ReceivedNotification[];
  close(): Promise<void>;
}

/**
 * A real `node:http` server playing the receiving end of webhook channels: it verifies each request's
 * Standard Webhooks signature with the `standardwebhooks` package and the secret of the channel at that
 * path, records it, and answers as scripted per path.
 */
export async function startNotificationReceiver(): Promise<NotificationReceiver> {
  const received: ReceivedNotification[] = [];
  const secrets = new Map<string, string>();
  const scripts = new Map<string, number[]>();
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (request.url ?? '/').slice(1);
      const secret = secrets.get(path);
      let verified = false;
      if (secret) {
        try {
          new Webhook(secret).verify(raw, {
            'webhook-id': String(request.headers['webhook-id']),
            'webhook-timestamp': String(request.headers['webhook-timestamp']),
            'webhook-signature': String(request.headers['webhook-signature']),
          });
          verified = true;
        } catch {
          verified = false;
        }
      }
      const script = scripts.get(path) ?? [];
      const status = script.length > 1 ? (script.shift() as number) : (script[0] ?? 204);
      received.push({
        path,
        headers: request.headers,
        body: JSON.parse(raw) as Notification,
        answered: status,
        verified,
      });
      response.writeHead(status).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}/${path}`,
    received,
    secrets,
    script: (path, ...statuses) => {
      scripts.set(path, statuses);
    },
    at: (path) => received.filter((each) => each.path === path && each.verified),
    close: () =>
      new Promise<void>((resolveClose) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolveClose());
      }),
  };
}
