import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { ExecutionRequest } from '../../shared/domain/execution.js';

/** What the agent answers one request with. */
export type AgentReply =
  /** `status` (default 200) with a JSON body. */
  | { kind: 'json'; status?: number; body: unknown }
  /** A bare status with a text body: 500 to make the worker retry, 400 to make it fail at once. */
  | { kind: 'status'; status: number; body?: string }
  /** Waits `ms` (past the run's timeout, say), then answers with `reply` (default 200 `{}`). */
  | { kind: 'sleep'; ms: number; reply?: AgentReply }
  /** Answers nothing until `release()`, then answers with `reply` (default 200 `{}`). */
  | { kind: 'hold'; reply?: AgentReply }
  /**
   * 202, then (after `delayMs`, default 0) POSTs `callback` to the request's callback URL with its
   * token, as an async agent does. Without `callback` the agent never calls back.
   */
  | { kind: 'accept'; callback?: CallbackBody; delayMs?: number };

export interface CallbackBody {
  status: 'succeeded' | 'failed';
  output?: unknown;
  error_message?: string | null;
}

/** One request the agent received, with the outcome of verifying its signature independently. */
export interface AgentRequest {
  /** The raw body bytes, exactly as received. */
  rawBody: Buffer;
  /** The body parsed as JSON (null if it is not JSON). */
  body: ExecutionRequest;
  headers: IncomingHttpHeaders;
  /** Whether `standardwebhooks`' `Webhook.verify` accepted the request. */
  signatureValid: boolean;
  /** Why verification failed, when it did. */
  signatureError: string | null;
}

/** A callback the agent sent, and the service's answer. */
export interface AgentCallback {
  executionId: string;
  status: number;
  body: unknown;
}

export interface AgentServer {
  /** The URL to register as the entity's `http` target. */
  url: string;
  /** Every request so far, in arrival order. */
  readonly requests: AgentRequest[];
  /** Every callback the agent sent (automatically, after `accept`) with the service's answer. */
  readonly callbacks: AgentCallback[];
  /**
   * The entity's signing secret (from the entity's creation answer), used to verify each request.
   * Requests that arrive before it is set are recorded as not verified.
   */
  signingSecret: string | null;
  /** Replies to the requests that arrive from now on, in order; the last one repeats. */
  script(...replies: AgentReply[]): void;
  /** Answers every request that is held (`hold`). */
  release(): void;
  /**
   * POSTs a callback for a request to its callback URL, with its token unless `token` is given; returns
   * the service's answer. Used for automatic callbacks and by tests for repeated or forged ones.
   */
  callBack(request: AgentRequest, body: CallbackBody, token?: string): Promise<AgentCallback>;
  /** Resolves when `count` requests have arrived (bounded by `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<AgentRequest[]>;
  /** Resolves when `count` automatic callbacks have been answered (bounded by `timeoutMs`). */
  waitForCallbacks(count: number, timeoutMs?: number): Promise<AgentCallback[]>;
  /** Closes the server and every open connection (held and sleeping replies included). Idempotent. */
  close(): Promise<void>;
}

const OK: AgentReply = { kind: 'json', body: {} };

/**
 * A real `node:http` server on 127.0.0.1 playing an `http` entity's agent. It records each request's raw
 * bytes and headers and verifies our Standard Webhooks signature with the independent `standardwebhooks`
 * package (`new Webhook(secret).verify(rawBody, headers)`), then answers as scripted (default: 200 `{}`).
 */
export async function startAgentServer(): Promise<AgentServer> {
  const requests: AgentRequest[] = [];
  const callbacks: AgentCallback[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const held: (() => void)[] = [];
  const pendingCallbacks = new Set<Promise<unknown>>();
  let replies: AgentReply[] = [OK];
  /** How many requests had arrived when the current script was set: replies count from there. */
  let scriptStart = 0;
  let listeners: (() => void)[] = [];
  let closed = false;

  const notify = () => {
    for (const listener of listeners) listener();
  };

  const later = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  const callBack = async (
    request: AgentRequest,
    body: CallbackBody,
    token = request.body.callback.token,
  ): Promise<AgentCallback> => {
    const response = await fetch(request.body.callback.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return {
      executionId: request.body.execution_id,
      status: response.status,
      body: text ? (JSON.parse(text) as unknown) : null,
    };
  };

  const answer = (response: ServerResponse, reply: AgentReply, request: AgentRequest) => {
    if (closed || response.writableEnded || response.destroyed) return;
    switch (reply.kind) {
      case 'json':
        response.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(reply.body));
        return;
      case 'status':
        response.writeHead(reply.status, { 'content-type': 'text/plain' });
        response.end(reply.body ?? `agent answered ${reply.status}`);
        return;
      case 'sleep':
        later(reply.ms, () => answer(response, reply.reply ?? OK, request));
        return;
      case 'hold':
        held.push(() => answer(response, reply.reply ?? OK, request));
        return;
      case 'accept': {
        response.writeHead(202, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ accepted: true }));
        const body = reply.callback;
        if (body === undefined) return;
        later(reply.delayMs ?? 0, () => {
          const sent = callBack(request, body)
            .then((result) => {
              callbacks.push(result);
              notify();
            })
            .catch(() => undefined)
            .finally(() => pendingCallbacks.delete(sent));
          pendingCallbacks.add(sent);
        });
        return;
      }
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let signatureValid = false;
      let signatureError: string | null = 'no signing secret set on the agent server';
      if (agent.signingSecret !== null) {
        try {
          new Webhook(agent.signingSecret).verify(rawBody, flatHeaders(req.headers));
          signatureValid = true;
          signatureError = null;
        } catch (error) {
          signatureError = error instanceof Error ? error.message : String(error);
        }
      }
      let body: unknown = null;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        body = null;
      }
      const request: AgentRequest = {
        rawBody,
        body: body as ExecutionRequest,
        headers: req.headers,
        signatureValid,
        signatureError,
      };
      const index = requests.length - scriptStart;
      requests.push(request);
      notify();
      const reply = replies[Math.min(index, replies.length - 1)] ?? OK;
      answer(res, reply, request);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;

  const waitFor = <T>(ready: () => T | null, what: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolveWait, reject) => {
      const check = () => {
        const value = ready();
        if (value === null) return false;
        listeners = listeners.filter((listener) => listener !== onChange);
        clearTimeout(timer);
        resolveWait(value);
        return true;
      };
      const onChange = () => void check();
      const timer = setTimeout(() => {
        listeners = listeners.filter((listener) => listener !== onChange);
        reject(new Error(`The agent did not see ${what} within ${timeoutMs} ms.`));
      }, timeoutMs);
      listeners.push(onChange);
      check();
    });

  let closing: Promise<void> | undefined;
  const agent: AgentServer = {
    url: `http://127.0.0.1:${port}/run`,
    requests,
    callbacks,
    signingSecret: null,
    script: (...next) => {
      replies = next.length > 0 ? next : [OK];
      scriptStart = requests.length;
    },
    release: () => {
      for (const reply of held.splice(0)) reply();
    },
    callBack,
    waitForRequests: (count, timeoutMs = 15_000) =>
      waitFor(
        () => (requests.length >= count ? requests.slice(0, count) : null),
        `${count} request(s) (got ${requests.length})`,
        timeoutMs,
      ),
    waitForCallbacks: (count, timeoutMs = 15_000) =>
      waitFor(
        () => (callbacks.length >= count ? callbacks.slice(0, count) : null),
        `${count} callback(s) answered`,
        timeoutMs,
      ),
    close: () => {
      closing ??= (async () => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        held.splice(0);
        await Promise.allSettled([...pendingCallbacks]);
        const stopped = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closing;
    },
  };
  return agent;
}

/** Node's headers as the `Record<string, string>` the verifier takes (repeated headers joined). */
function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
