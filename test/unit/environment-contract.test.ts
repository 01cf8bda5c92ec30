import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  defineEnvironment,
  EnvironmentError,
  flag,
  json,
  oneOf,
  positiveInteger,
  text,
  variables,
} from '../../shared/config/environment.js';
import { workerEnvironment } from '../../shared/config/environments/worker-environment.js';

const example = defineEnvironment({
  tableName: text('TABLE_NAME'),
  retention: positiveInteger('EXECUTION_RETENTION_DAYS'),
  tracing: flag('POWERTOOLS_TRACE_ENABLED'),
  level: oneOf('LOG_LEVEL', ['info', 'debug'] as const),
  urls: json<Record<string, string>, Record<string, string>>('QUEUE_URLS', z.record(z.string(), z.string())),
});

describe('defineEnvironment', () => {
  it('writes exactly its variables, each as text, and reads them back as written', () => {
    // Prepare
    const values = {
      tableName: 'jobs',
      retention: 90,
      tracing: true,
      level: 'debug' as const,
      urls: { default: 'https://sqs/default' },
    };

    // Act
    const written = example.write({ ...values, ignored: 'not a variable' } as typeof values);
    const read = example.read(written);

    // Assess
    expect(written).toEqual({
      TABLE_NAME: 'jobs',
      EXECUTION_RETENTION_DAYS: '90',
      POWERTOOLS_TRACE_ENABLED: 'true',
      LOG_LEVEL: 'debug',
      QUEUE_URLS: '{"default":"https://sqs/default"}',
    });
    expect(read).toEqual(values);
    expect(example.names).toEqual([
      'EXECUTION_RETENTION_DAYS',
      'LOG_LEVEL',
      'POWERTOOLS_TRACE_ENABLED',
      'QUEUE_URLS',
      'TABLE_NAME',
    ]);
  });

  it('writes JSON with the writer it is given (the stack passes its toJsonString)', () => {
    // Act
    const written = example.write(
      { tableName: 't', retention: 1, tracing: false, level: 'info', urls: {} },
      (value) => `json:${JSON.stringify(value)}`,
    );

    // Assess
    expect(written.QUEUE_URLS).toBe('json:{}');
  });

  it('reads nothing but its variables, and names every one missing or malformed at once', () => {
    // Prepare
    const env = {
      TABLE_NAME: '',
      EXECUTION_RETENTION_DAYS: '0',
      POWERTOOLS_TRACE_ENABLED: 'yes',
      LOG_LEVEL: 'loud',
      QUEUE_URLS: '{"default": 1}',
      UNRELATED: 'x',
    };

    // Act
    const read = () => example.read(env);

    // Assess
    expect(read).toThrow(EnvironmentError);
    expect(read).toThrow(
      'Invalid function environment: TABLE_NAME is not set; EXECUTION_RETENTION_DAYS must be a whole number ' +
        'from 1 up, got "0"; POWERTOOLS_TRACE_ENABLED must be "true" or "false", got "yes"; LOG_LEVEL must be ' +
        'one of info, debug, got "loud"; QUEUE_URLS is not what the stack writes (default: ',
    );
  });

  it('says when a JSON variable is not JSON', () => {
    // Act
    const read = () => variables.deployment.decode('{not json');

    // Assess
    expect(read).toThrow('is not JSON');
  });

  it('refuses two keys naming the same variable', () => {
    // Act
    const define = () => defineEnvironment({ a: text('TABLE_NAME'), b: text('TABLE_NAME') });

    // Assess
    expect(define).toThrow('An environment names a variable twice');
  });
});

describe('the log level variable', () => {
  it.each(['debug', 'info', 'warn', 'error', 'silent'])('accepts %s', (level) => {
    // Act
    const read = variables.logLevel.decode(level);

    // Assess
    expect(read).toBe(level);
  });
});

describe('the worker environment', () => {
  it('reads the retention: it starts no run, but records the jobs it pauses in their audit trail', () => {
    // Assess
    expect(workerEnvironment.names).toContain('EXECUTION_RETENTION_DAYS');
    expect(workerEnvironment.names).toContain('MAX_RECEIVE_COUNT');
  });
});
