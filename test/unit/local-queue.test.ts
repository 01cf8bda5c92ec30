import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LocalQueues } from '../../infra/local/local-queue.js';
import type { DeadLetter, QueueConsumerOptions, QueueTimers } from '../../infra/local/local-queue-options.js';
import { FileQueueJournal, JOURNAL_LOG } from '../../infra/local/queue-journal.js';
import { UnknownQueueError } from '../../shared/adapters/run-queue.js';
import type { RunMessage } from '../../shared/ports.js';

/** Lets every pending promise callback run (real setImmediate: the queue only uses the manual timers). */
const settle = () => new Promise<void>((resolveSettle) => setImmediate(resolveSettle));

/** A clock that moves only when told to, firing due timers in order on the way. */
class ManualTimers implements QueueTimers {
  private current = 1_700_000_000_000;
  private sequence = 0;
  private tasks: { at: number; sequence: number; callback: () => void }[] = [];

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const task = { at: this.current + Math.max(0, delayMs), sequence: this.sequence++, callback };
    this.tasks.push(task);
    return task;
  }

  clearTimeout(handle: unknown): void {
    this.tasks = this.tasks.filter((task) => task !== handle);
  }

  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      const due = this.tasks
        .filter((task) => task.at <= target)
        .sort((a, b) => a.at - b.at || a.sequence - b.sequence)[0];
      if (!due) break;
      this.tasks = this.tasks.filter((task) => task !== due);
      this.current = due.at;
      due.callback();
      await settle();
    }
    this.current = target;
    await settle();
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

interface Invocation {
  event: SQSEvent;
  context: Context;
  ids: string[];
}

type Respond = (event: SQSEvent, call: number) => Promise<SQSBatchResponse | undefined>;

/** A handler that records its invocations and answers with `respond` (success by default). */
function recordingHandler(respond: Respond = async () => undefined) {
  const invocations: Invocation[] = [];
  const handler = (event: SQSEvent, context: Context) => {
    invocations.push({ event, context, ids: event.Records.map((record) => record.messageId) });
    return respond(event, invocations.length);
  };
  return { invocations, handler };
}

function runMessage(n: number): RunMessage {
  return { job_id: `job_${n}`, execution_id: `exec_${n}`, attempt: 1 };
}

function setup(consumer: Omit<QueueConsumerOptions, 'handler'> & { respond?: Respond } = {}) {
  const timers = new ManualTimers();
  const queues = new LocalQueues({ timers });
  const { invocations, handler } = recordingHandler(consumer.respond);
  const { respond: _respond, ...options } = consumer;
  queues.start({ handler, visibilityTimeoutMs: 30_000, pollIntervalMs: 1_000, ...options });
  return { timers, queues, invocations };
}

function firstRecord(invocation: Invocation | undefined): SQSRecord {
  const record = invocation?.event.Records[0];
  if (!record) throw new Error('expected an invocation with a record');
  return record;
}

describe('LocalQueues', () => {
  it('delivers a sent message as an SQS record and deletes it when the handler succeeds', async () => {
    // Prepare
    const { timers, queues, invocations } = setup({ pollIntervalMs: 60_000 });
    await timers.advance(5_000);

    // Act
    await queues.send('production', runMessage(1));
    await settle();

    // Assess: delivered at once although the next poll is a minute away
    expect(invocations).toHaveLength(1);
    const record = firstRecord(invocations[0]);
    const body = JSON.stringify(runMessage(1));
    expect(record).toMatchObject({
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:production',
      awsRegion: 'local',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(timers.now()),
        ApproximateFirstReceiveTimestamp: String(timers.now()),
      },
    });
    expect(record.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.receiptHandle).toEqual(expect.any(String));
    expect(invocations[0]?.context.functionName).toBe('worker-production');
    expect(invocations[0]?.context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(queues.depth('production')).toBe(0);
    expect(queues.inFlight('production')).toBe(0);
  });

  it('splits messages into batches of at most batchSize', async () => {
    // Prepare
    const { queues, invocations } = setup({ batchSize: 10 });

    // Act
    for (let n = 0; n < 25; n++) void queues.send('default', runMessage(n));
    await settle();

    // Assess
    expect(invocations.map((invocation) => invocation.ids.length)).toEqual([10, 10, 5]);
    expect(new Set(invocations.flatMap((invocation) => invocation.ids)).size).toBe(25);
    expect(queues.depth('default')).toBe(0);
  });

  it('keeps at most maxConcurrency batches in flight per queue', async () => {
    // Prepare
    const release = deferred<undefined>();
    const { queues, invocations } = setup({
      batchSize: 1,
      maxConcurrency: 2,
      respond: () => release.promise,
    });

    // Act
    for (let n = 0; n < 5; n++) await queues.send('default', runMessage(n));
    await settle();
    const callsWhileBusy = invocations.length;
    const inFlightWhileBusy = queues.inFlight('default');
    release.resolve(undefined);
    await settle();

    // Assess
    expect(callsWhileBusy).toBe(2);
    expect(inFlightWhileBusy).toBe(2);
    expect(invocations).toHaveLength(5);
    expect(queues.depth('default')).toBe(0);
  });

  it('redelivers only the reported batch item failures, and only after the visibility timeout', async () => {
    // Prepare
    const { timers, queues, invocations } = setup({
      visibilityTimeoutMs: 30_000,
      respond: async (event, call) =>
        call === 1
          ? { batchItemFailures: [{ itemIdentifier: event.Records[1]?.messageId ?? '' }] }
          : undefined,
    });
    for (let n = 0; n < 3; n++) void queues.send('default', runMessage(n));
    await settle();
    const failedId = invocations[0]?.ids[1];

    // Act
    await timers.advance(29_999);
    const callsBeforeTimeout = invocations.length;
    await timers.advance(1);

    // Assess
    expect(callsBeforeTimeout).toBe(1);
    expect(invocations).toHaveLength(2);
    expect(invocations[1]?.ids).toEqual([failedId]);
    expect(firstRecord(invocations[1]).attributes.ApproximateReceiveCount).toBe('2');
    expect(firstRecord(invocations[1]).receiptHandle).not.toBe(
      invocations[0]?.event.Records[1]?.receiptHandle,
    );
    expect(queues.depth('default')).toBe(0);
  });

  it('redelivers the whole batch after the visibility timeout when the handler throws', async () => {
    // Prepare
    const { timers, queues, invocations } = setup({
      visibilityTimeoutMs: 10_000,
      respond: async (_event, call) => {
        if (call === 1) throw new Error('worker crashed');
        return undefined;
      },
    });
    for (let n = 0; n < 3; n++) void queues.send('default', runMessage(n));
    await settle();

    // Act
    const depthAfterThrow = queues.depth('default');
    await timers.advance(10_000);

    // Assess
    expect(depthAfterThrow).toBe(3);
    expect(invocations).toHaveLength(2);
    expect(invocations[1]?.ids).toEqual(invocations[0]?.ids);
    expect(queues.depth('default')).toBe(0);
  });

  it('fails the whole batch when the response names an unknown item', async () => {
    // Prepare
    const { timers, queues, invocations } = setup({
      visibilityTimeoutMs: 10_000,
      respond: async (_event, call) =>
        call === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] } : undefined,
    });
    for (let n = 0; n < 2; n++) void queues.send('default', runMessage(n));
    await settle();

    // Act
    await timers.advance(10_000);

    // Assess
    expect(invocations).toHaveLength(2);
    expect(invocations[1]?.ids).toHaveLength(2);
  });

  it('moves a message received maxReceiveCount times without a delete to the dead-letter list', async () => {
    // Prepare
    const hooked: { queue: string; message: DeadLetter }[] = [];
    const { timers, queues, invocations } = setup({
      visibilityTimeoutMs: 1_000,
      maxReceiveCount: 3,
      respond: async () => {
        throw new Error('always fails');
      },
      onDeadLetter: (queue, message) => {
        hooked.push({ queue, message });
      },
    });
    await queues.send('production', runMessage(7));
    await settle();

    // Act
    await timers.advance(3_000);

    // Assess
    expect(invocations).toHaveLength(3);
    expect(queues.depth('production')).toBe(0);
    const dead = queues.deadLetters('production');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ message: runMessage(7), receiveCount: 3, deadLetteredAt: timers.now() });
    expect(hooked).toEqual([{ queue: 'production', message: dead[0] }]);
    await expect(queues.drained()).resolves.toBeUndefined();
  });

  it('holds a delayed message until its delay has passed, clamping the delay to 0–900 seconds', async () => {
    // Prepare
    const { timers, queues, invocations } = setup({ pollIntervalMs: 1_000 });

    // Act
    await queues.send('default', runMessage(1), 5);
    await queues.send('default', runMessage(2), 5_000);
    await queues.send('default', runMessage(3), -10);
    await settle();
    const bodiesAtStart = invocations.map((invocation) => firstRecord(invocation).body);
    await timers.advance(4_999);
    const callsBeforeDelay = invocations.length;
    await timers.advance(1);
    const callsAtDelay = invocations.length;
    await timers.advance(900_000 - 5_001);
    const callsBeforeClamp = invocations.length;
    await timers.advance(1);

    // Assess
    expect(bodiesAtStart).toEqual([JSON.stringify(runMessage(3))]);
    expect(callsBeforeDelay).toBe(1);
    expect(callsAtDelay).toBe(2);
    expect(firstRecord(invocations[1]).body).toBe(JSON.stringify(runMessage(1)));
    expect(callsBeforeClamp).toBe(2);
    expect(invocations).toHaveLength(3);
    expect(firstRecord(invocations[2]).body).toBe(JSON.stringify(runMessage(2)));
  });

  it('delivers a message again while a handler whose visibility lapsed still runs; only the latest receive deletes it', async () => {
    // Prepare
    const first = deferred<undefined>();
    const second = deferred<undefined>();
    const { timers, queues, invocations } = setup({
      visibilityTimeoutMs: 1_000,
      respond: (_event, call) => (call === 1 ? first.promise : second.promise),
    });
    await queues.send('default', runMessage(1));
    await settle();

    // Act
    await timers.advance(1_000);
    const callsAfterLapse = invocations.length;
    const inFlightDuringBoth = queues.inFlight('default');
    first.resolve(undefined); // the stale receive reports success
    await settle();
    const depthAfterStaleSuccess = queues.depth('default');
    second.resolve(undefined);
    await settle();

    // Assess
    expect(callsAfterLapse).toBe(2);
    expect(firstRecord(invocations[1]).messageId).toBe(firstRecord(invocations[0]).messageId);
    expect(firstRecord(invocations[1]).attributes.ApproximateReceiveCount).toBe('2');
    expect(inFlightDuringBoth).toBe(2);
    expect(depthAfterStaleSuccess).toBe(1);
    expect(queues.depth('default')).toBe(0);
    expect(queues.inFlight('default')).toBe(0);
    expect(invocations).toHaveLength(2);
  });

  it('lets a late success after the message was already deleted pass without effect', async () => {
    // Prepare
    const first = deferred<undefined>();
    const { timers, queues, invocations } = setup({
      visibilityTimeoutMs: 1_000,
      respond: (_event, call) => (call === 1 ? first.promise : Promise.resolve(undefined)),
    });
    await queues.send('default', runMessage(1));
    await settle();
    await timers.advance(1_000); // second delivery succeeds and deletes the message

    // Act
    first.resolve(undefined);
    await settle();
    await timers.advance(10_000);

    // Assess
    expect(invocations).toHaveLength(2);
    expect(queues.depth('default')).toBe(0);
    expect(queues.inFlight('default')).toBe(0);
    expect(queues.deadLetters('default')).toEqual([]);
  });

  it('creates queues on first use when open, and serves them with the running consumer', async () => {
    // Prepare
    const { queues, invocations } = setup();

    // Act
    await queues.send('made-up-queue', runMessage(1));
    await settle();

    // Assess
    expect(queues.names()).toContain('made-up-queue');
    expect(firstRecord(invocations[0]).eventSourceARN).toBe('arn:aws:sqs:local:000000000000:made-up-queue');
  });

  it('rejects a queue name that was not declared when closed', async () => {
    // Prepare
    const queues = new LocalQueues({
      allowUnknown: false,
      names: ['default', 'production'],
      timers: new ManualTimers(),
    });

    // Act
    const sent = queues.send('staging', runMessage(1));

    // Assess
    await expect(sent).rejects.toBeInstanceOf(UnknownQueueError);
    await expect(sent).rejects.toThrow(
      'No worker queue named "staging" is declared in the local deployment config (known queues: "default", "production").',
    );
    await expect(queues.send('production', runMessage(1))).resolves.toBeUndefined();
    expect(queues.depth('production')).toBe(1);
    expect(() => queues.depth('staging')).toThrow(UnknownQueueError);
  });

  it('stop() stops polling and waits for the batches in flight', async () => {
    // Prepare
    const release = deferred<undefined>();
    const { timers, queues, invocations } = setup({ respond: () => release.promise });
    await queues.send('default', runMessage(1));
    await settle();

    // Act
    let stopped = false;
    const stopping = queues.stop().then(() => {
      stopped = true;
    });
    await settle();
    const stoppedBeforeRelease = stopped;
    release.resolve(undefined);
    await stopping;
    await queues.send('default', runMessage(2));
    await timers.advance(60_000);

    // Assess
    expect(stoppedBeforeRelease).toBe(false);
    expect(invocations).toHaveLength(1);
    expect(queues.depth('default')).toBe(1);
  });

  it('stop() gives up waiting on a handler that never settles after its bound', async () => {
    // Prepare
    const { timers, queues } = setup({ respond: () => new Promise(() => {}) });
    await queues.send('default', runMessage(1));
    await settle();

    // Act
    let stopped = false;
    const stopping = queues.stop({ timeoutMs: 2_000 }).then(() => {
      stopped = true;
    });
    await timers.advance(1_999);
    const stoppedBeforeBound = stopped;
    await timers.advance(1);
    await stopping;

    // Assess
    expect(stoppedBeforeBound).toBe(false);
    expect(stopped).toBe(true);
    expect(queues.inFlight('default')).toBe(1);
  });

  it('drained() resolves once every queue is empty and nothing is in flight, redeliveries included', async () => {
    // Prepare
    const { timers, queues } = setup({
      visibilityTimeoutMs: 1_000,
      respond: async (_event, call) => {
        if (call === 1) throw new Error('first attempt fails');
        return undefined;
      },
    });
    await queues.send('a', runMessage(1));
    await queues.send('b', runMessage(2), 3);
    let drained = false;
    const draining = queues.drained().then(() => {
      drained = true;
    });

    // Act
    await timers.advance(1_000);
    const drainedAfterRedelivery = drained;
    await timers.advance(2_000);
    await draining;

    // Assess
    expect(drainedAfterRedelivery).toBe(false);
    expect(drained).toBe(true);
    expect(queues.depth('a') + queues.depth('b')).toBe(0);
  });

  it('drained() with a timeout rejects, naming what is left', async () => {
    // Prepare
    const timers = new ManualTimers();
    const queues = new LocalQueues({ timers });
    await queues.send('default', runMessage(1)); // no consumer started

    // Act
    const draining = queues.drained({ timeoutMs: 500 });
    const assertion = expect(draining).rejects.toThrow('default: 1 held, 0 in flight');
    await timers.advance(500);

    // Assess
    await assertion;
  });
});

describe('LocalQueues with a journal', () => {
  const journalDir = async () => mkdtemp(join(tmpdir(), 'queue-journal-'));

  it('keeps unfinished messages across a crash: what was received comes back at once, a delay is waited out', async () => {
    // Prepare: a handler that never answers (the process dies mid-run), and a retry sent with a delay.
    const directory = await journalDir();
    try {
      // The first process's clock stops with it: it never wakes again after the crash.
      const firstJournal = new FileQueueJournal(directory);
      const first = new LocalQueues({ timers: new ManualTimers(), journal: firstJournal });
      const hung = recordingHandler(() => new Promise<never>(() => {}));
      first.start({ handler: hung.handler, visibilityTimeoutMs: 360_000 });
      await first.send('default', runMessage(1));
      await first.send('default', runMessage(2), 120);
      await settle();
      await firstJournal.flush();
      expect(hung.invocations).toHaveLength(1);

      // Act: a new process on the same journal, 10 s later (the first never stopped).
      const timers = new ManualTimers();
      await timers.advance(10_000);
      const second = new LocalQueues({ timers, journal: new FileQueueJournal(directory) });
      const restored = await second.restore();
      const next = recordingHandler();
      second.start({ handler: next.handler, visibilityTimeoutMs: 360_000 });
      await settle();
      const atOnce = next.invocations.flatMap((invocation) => invocation.event.Records.map((r) => r.body));
      await timers.advance(110_000);
      const all = next.invocations.flatMap((invocation) => invocation.event.Records);
      await second.stop();

      // Assess: the received message is delivered again at once, as its second receive; the delayed one
      // only when its delay ends; both are deleted from the journal once handled.
      expect(restored).toBe(2);
      expect(atOnce).toEqual([JSON.stringify(runMessage(1))]);
      expect(all.map((record) => [record.body, record.attributes.ApproximateReceiveCount])).toEqual([
        [JSON.stringify(runMessage(1)), '2'],
        [JSON.stringify(runMessage(2)), '1'],
      ]);
      expect(await new FileQueueJournal(directory).load()).toEqual([]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('counts each restart as a receive of what it brings back, so a message that keeps killing its process is dead-lettered', async () => {
    // Prepare
    const directory = await journalDir();
    try {
      const timers = new ManualTimers();
      await new LocalQueues({ timers, journal: new FileQueueJournal(directory) }).send(
        'default',
        runMessage(1),
      );

      // Act: five starts that each die before handling it, then a sixth with a consumer.
      for (let start = 0; start < 5; start++) {
        await new LocalQueues({ timers, journal: new FileQueueJournal(directory) }).restore();
      }
      const last = new LocalQueues({ timers, journal: new FileQueueJournal(directory) });
      await last.restore();
      const { invocations, handler } = recordingHandler();
      last.start({ handler, maxReceiveCount: 5 });
      await settle();

      // Assess
      expect(invocations).toHaveLength(0);
      expect(last.deadLetters('default').map((dead) => dead.receiveCount)).toEqual([6]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('writes a message to the journal before send resolves, readable by the user only', async () => {
    // Prepare
    const directory = await journalDir();
    try {
      const queues = new LocalQueues({
        timers: new ManualTimers(),
        journal: new FileQueueJournal(directory),
      });

      // Act
      await queues.send('security', runMessage(7), 5);

      // Assess
      const [record] = await new FileQueueJournal(directory).load();
      expect(record).toMatchObject({
        queue: 'security',
        body: JSON.stringify(runMessage(7)),
        receiveCount: 0,
      });
      const file = join(directory, 'security', JOURNAL_LOG);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('delay() hands a received message back for the given time, like ChangeMessageVisibility', async () => {
    // Prepare: the handler asks for the message again in 40 s, as the worker does for a held run.
    const timers = new ManualTimers();
    const queues = new LocalQueues({ timers });
    const { invocations, handler } = recordingHandler(async (event, call) => {
      const record = event.Records[0] as SQSRecord;
      if (call > 1) return undefined;
      await queues.delay(record, 40);
      return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
    });
    queues.start({ handler, visibilityTimeoutMs: 360_000 });
    await queues.send('default', runMessage(1));
    await settle();

    // Act
    await timers.advance(39_000);
    const before = invocations.length;
    await timers.advance(1_000);

    // Assess: not at the 360 s visibility timeout, but when asked.
    expect(before).toBe(1);
    expect(invocations).toHaveLength(2);
    expect(queues.depth('default')).toBe(0);
  });
});
