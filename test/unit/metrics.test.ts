import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { createMetrics, type EmfOutput, emitToLog } from '../../shared/adapters/metrics.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  const documents: EmfOutput[] = [];
  const metrics = createMetrics({ logger, emit: (emf) => documents.push(emf) });
  return { logger, metrics, documents, logEntries: () => lines.map((line) => JSON.parse(line)) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('metrics', () => {
  it('count in the ServerlessJobs namespace, by service and the given dimensions, as embedded metric documents', () => {
    // Prepare
    const { metrics, documents } = capture();

    // Act
    metrics.count('WebhookRejected', { Reason: 'bad_signature' });

    // Assess
    expect(documents).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: 'ServerlessJobs',
              Dimensions: [['service', 'Reason']],
              Metrics: [{ Name: 'WebhookRejected', Unit: 'Count' }],
            },
          ],
        },
        service: 'serverless-jobs',
        Reason: 'bad_signature',
        WebhookRejected: 1,
      },
    ]);
  });

  it('time in milliseconds, one document per value, a timing never carrying a count or its dimensions', () => {
    // Prepare
    const { metrics, documents } = capture();

    // Act
    metrics.count('WebhookRejected', { Reason: 'stale' });
    metrics.timing('CronFireLateness', 840);

    // Assess
    expect(documents[1]).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'ServerlessJobs',
            Dimensions: [['service']],
            Metrics: [{ Name: 'CronFireLateness', Unit: 'Milliseconds' }],
          },
        ],
      },
      service: 'serverless-jobs',
      CronFireLateness: 840,
    });
  });

  it("write each count at once, one document each, a count's dimensions never carried to the next", () => {
    // Prepare
    const { metrics, documents } = capture();

    // Act
    metrics.count('WebhookRejected', { Reason: 'stale' });
    metrics.count('ScheduleSyncFailed');
    metrics.count('WebhookRejected', { Reason: 'rate_limited' });

    // Assess
    expect(
      documents.map((emf) => ({
        dimensions: emf._aws.CloudWatchMetrics[0]?.Dimensions,
        reason: emf.Reason,
        names: emf._aws.CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name),
      })),
    ).toEqual([
      { dimensions: [['service', 'Reason']], reason: 'stale', names: ['WebhookRejected'] },
      { dimensions: [['service']], reason: undefined, names: ['ScheduleSyncFailed'] },
      { dimensions: [['service', 'Reason']], reason: 'rate_limited', names: ['WebhookRejected'] },
    ]);
  });

  it('warn about nothing when they count', () => {
    // Prepare
    const { metrics, logEntries } = capture();

    // Act
    metrics.count('ScheduleSyncFailed');
    metrics.count('ScheduleSyncFailed');

    // Assess
    expect(logEntries()).toEqual([]);
  });

  it('go to stdout as one JSON line each when no emitter is given (what CloudWatch Logs reads on Lambda)', () => {
    // Prepare
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const metrics = createMetrics({ logger: createLogger({ level: 'silent' }) });

    // Act
    metrics.count('WebhookRejected', { Reason: 'unknown_path' });

    // Assess
    vi.restoreAllMocks();
    const documents = written.join('').trimEnd().split('\n');
    expect(documents).toHaveLength(1);
    expect(JSON.parse(documents[0] as string)).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'ServerlessJobs', Dimensions: [['service', 'Reason']] }] },
      Reason: 'unknown_path',
      WebhookRejected: 1,
    });
  });

  it('become debug log lines in the local runtime', () => {
    // Prepare
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
    const quiet = createLogger({ level: 'info', sink: (line) => lines.push(line) });

    // Act
    createMetrics({ logger, emit: emitToLog(logger) }).count('WebhookRejected', { Reason: 'too_large' });
    createMetrics({ logger: quiet, emit: emitToLog(quiet) }).count('ScheduleSyncFailed');

    // Assess
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 'debug', message: 'metric', Reason: 'too_large', WebhookRejected: 1 }),
    ]);
  });
});
