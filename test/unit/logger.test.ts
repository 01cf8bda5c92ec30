import { describe, expect, it } from 'vitest';
import { LocalRuntimeConfigError, startLocalRuntime } from '../../infra/local/runtime.js';
import {
  createLogger,
  type LoggerOptions,
  parseLogFormat,
  parseLogLevel,
} from '../../shared/adapters/logger.js';

function capture(options: Omit<LoggerOptions, 'sink'> = {}) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', ...options, sink: (line) => lines.push(line) });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** Resolves once `count` callers are waiting on it: proof that they run at the same time. */
function barrier(count: number) {
  let arrived = 0;
  let release: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return async () => {
    arrived++;
    if (arrived === count) release();
    await all;
  };
}

describe('the JSON logger', () => {
  it('writes one JSON object per line: level, timestamp, message, the fields, the service', () => {
    // Prepare
    const { logger, lines, entries } = capture();

    // Act
    logger.info('run started', { queue: 'default', attempt: 1 });

    // Assess
    expect(lines).toHaveLength(1);
    expect(entries()[0]).toEqual({
      level: 'info',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      message: 'run started',
      queue: 'default',
      attempt: 1,
      service: 'serverless-jobs',
    });
  });

  it('writes the jobId and executionId fields under job_id and execution_id', () => {
    // Prepare
    const { logger, entries } = capture();

    // Act
    logger.info('run succeeded', { jobId: 'job_1', executionId: 'exec_1' });

    // Assess
    const [entry] = entries();
    expect(entry).toMatchObject({ job_id: 'job_1', execution_id: 'exec_1' });
    expect(entry).not.toHaveProperty('jobId');
    expect(entry).not.toHaveProperty('executionId');
  });

  it('writes an error field with its name, message, stack and cause', () => {
    // Prepare
    const { logger, entries } = capture();
    const error = new Error('write failed', { cause: new TypeError('socket hang up') });

    // Act
    logger.error('enqueue failed; the sweeper will retry', { error });

    // Assess
    const logged = entries()[0]?.error as Record<string, unknown>;
    expect(logged).toMatchObject({
      name: 'Error',
      message: 'write failed',
      cause: { name: 'TypeError', message: 'socket hang up' },
    });
    expect(logged.stack).toEqual(error.stack);
  });

  it('drops lines below its level, and writes none when silent', () => {
    // Prepare
    const atWarn = capture({ level: 'warn' });
    const silent = capture({ level: 'silent' });

    // Act
    for (const { logger } of [atWarn, silent]) {
      logger.debug('d');
      logger.info('i');
      logger.warn('w');
      logger.error('e');
    }

    // Assess
    expect(atWarn.entries().map((entry) => [entry.level, entry.message])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);
    expect(silent.lines).toEqual([]);
  });
});

describe('keys scoped to a unit of work', () => {
  it('are on every line written while the work runs, however deep, and gone after it', async () => {
    // Prepare
    const { logger, entries } = capture();
    const deep = async () => {
      await Promise.resolve();
      logger.info('inside');
    };

    // Act
    await logger.withKeys({ request_id: 'r-1' }, async () => {
      await logger.withKeys({ job_id: 'job_1', execution_id: 'exec_1' }, deep);
      logger.info('request only');
    });
    logger.info('outside');

    // Assess
    expect(
      entries().map(({ message, request_id, job_id, execution_id }) => [
        message,
        request_id,
        job_id,
        execution_id,
      ]),
    ).toEqual([
      ['inside', 'r-1', 'job_1', 'exec_1'],
      ['request only', 'r-1', undefined, undefined],
      ['outside', undefined, undefined, undefined],
    ]);
  });

  it('never leak between units of work running at the same time', async () => {
    // Prepare: two records, each logging before and after both have started.
    const { logger, entries } = capture();
    const bothStarted = barrier(2);
    const work = (id: string) =>
      logger.withKeys({ job_id: `job_${id}`, execution_id: `exec_${id}` }, async () => {
        logger.info('before');
        await bothStarted();
        logger.info('after');
      });

    // Act
    await Promise.all([work('a'), work('b')]);

    // Assess
    const seen = entries().map(({ message, job_id, execution_id }) => ({ message, job_id, execution_id }));
    expect(seen).toHaveLength(4);
    for (const id of ['a', 'b']) {
      expect(seen.filter((entry) => entry.job_id === `job_${id}`)).toEqual([
        { message: 'before', job_id: `job_${id}`, execution_id: `exec_${id}` },
        { message: 'after', job_id: `job_${id}`, execution_id: `exec_${id}` },
      ]);
    }
  });

  it("yield to a call's own fields", async () => {
    // Prepare
    const { logger, entries } = capture();

    // Act
    await logger.withKeys({ job_id: 'job_1' }, async () => logger.info('other job', { jobId: 'job_2' }));

    // Assess
    expect(entries()[0]?.job_id).toBe('job_2');
  });
});

describe('the pretty format (local runtime in a terminal)', () => {
  it('writes time, level, message and key=value fields, quoting values with spaces', async () => {
    // Prepare
    const { logger, lines } = capture({ format: 'pretty' });

    // Act
    await logger.withKeys({ request_id: 'r-1', job_id: 'job_1', execution_id: 'exec_1' }, async () =>
      logger.info('run succeeded', { attempt: 1, reason: 'two words', output: { ok: true }, big: 10n }),
    );

    // Assess
    expect(lines).toEqual([
      expect.stringMatching(
        /^\d{2}:\d{2}:\d{2} INFO {2}run succeeded job_id=job_1 execution_id=exec_1 attempt=1 reason="two words" output=\{"ok":true\} big=10$/,
      ),
    ]);
  });

  it('writes an error as name and message, its stack and causes on indented lines below', () => {
    // Prepare
    const { logger, lines } = capture({ format: 'pretty' });
    const error = new Error('write failed', { cause: new TypeError('socket hang up') });

    // Act
    logger.error('enqueue failed', { error });

    // Assess
    const [line] = lines;
    const [first, ...rest] = (line ?? '').split('\n');
    expect(first).toMatch(/ ERROR enqueue failed error="Error: write failed"$/);
    expect(rest.length).toBeGreaterThan(2);
    expect(rest[0]).toMatch(/^ {4}at /);
    expect(rest).toContain('    caused by TypeError: socket hang up');
  });

  it('colours only when asked to', () => {
    // Prepare
    const plain = capture({ format: 'pretty' });
    const coloured = capture({ format: 'pretty', color: true });

    // Act
    plain.logger.warn('slow', { path: '/jobs' });
    coloured.logger.warn('slow', { path: '/jobs' });

    // Assess
    const ESC = String.fromCharCode(27);
    expect(plain.lines[0]).not.toContain(ESC);
    expect(coloured.lines[0]).toContain(`${ESC}[33mWARN `);
    // The same line once the colour codes are gone (the times aside: the two may fall in two seconds).
    const uncoloured = coloured.lines[0]?.replaceAll(new RegExp(`${ESC}\\[\\d+m`, 'g'), '');
    expect(uncoloured?.slice(8)).toBe(plain.lines[0]?.slice(8));
  });
});

describe('configuration values', () => {
  it('reads levels in any case, falling back on anything else', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(parseLogLevel('silent')).toBe('silent');
    expect(parseLogLevel('verbose')).toBe('info');
    expect(parseLogLevel(undefined, 'silent')).toBe('silent');
  });

  it('reads formats, and refuses an unknown one naming LOG_FORMAT', () => {
    expect(parseLogFormat('json')).toBe('json');
    expect(parseLogFormat('Pretty')).toBe('pretty');
    expect(parseLogFormat('')).toBeUndefined();
    expect(parseLogFormat(undefined)).toBeUndefined();
    expect(() => parseLogFormat('yaml')).toThrow(/LOG_FORMAT must be "json" or "pretty", not "yaml"/);
  });

  it('stop the local runtime before it starts anything when LOG_FORMAT is unknown', async () => {
    // Prepare
    const before = process.env.LOG_FORMAT;
    process.env.LOG_FORMAT = 'yaml';

    // Act
    const started = startLocalRuntime({ dataDir: '/nonexistent/never-created', port: 0 });

    // Assess
    try {
      await expect(started).rejects.toThrow(LocalRuntimeConfigError);
      await expect(started).rejects.toThrow(/LOG_FORMAT/);
    } finally {
      if (before === undefined) delete process.env.LOG_FORMAT;
      else process.env.LOG_FORMAT = before;
    }
  });
});
