import { describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/command.js';
import { formatDuration, formatErrorLine, formatRecord, formatTable } from '../../cli/format.js';
import { parseAssignments } from '../../cli/input.js';

describe('formatTable', () => {
  it('aligns every column to its widest cell, two spaces apart, with no trailing spaces', () => {
    // Prepare
    const rows = [
      { id: 'a', name: 'Nightly backup', on: true },
      { id: 'bbbb', name: 'Ping', on: false },
    ];

    // Act
    const table = formatTable(rows, [
      { header: 'id', value: (row) => row.id },
      { header: 'name', value: (row) => row.name },
      { header: 'enabled', value: (row) => (row.on ? 'yes' : '') },
    ]);

    // Assess
    expect(table).toBe(
      ['ID    NAME            ENABLED', 'a     Nightly backup  yes', 'bbbb  Ping'].join('\n'),
    );
  });

  it('cuts cells longer than their column maximum and keeps each row on one line', () => {
    // Prepare
    const rows = [{ name: 'A very long job name\nwith a newline' }];

    // Act
    const table = formatTable(rows, [{ header: 'name', value: (row) => row.name, max: 12 }]);

    // Assess
    expect(table.split('\n')).toEqual(['NAME', 'A very long…']);
  });

  it('keeps fixed widths and can leave the header out, for rows printed one at a time', () => {
    // Prepare
    const columns = [
      { header: 'id', value: (row: { id: string; s: string }) => row.id },
      { header: 'status', value: (row: { id: string; s: string }) => row.s },
    ];

    // Act
    const line = formatTable([{ id: 'x', s: 'running' }], columns, { widths: [6, 9], header: false });

    // Assess
    expect(line).toBe('x       running');
  });
});

describe('formatRecord', () => {
  it('aligns names, shows null as "-" and pretty-prints objects too long for one line under the value', () => {
    // Prepare
    const record = {
      id: 'job_1',
      description: null,
      config: { timeout: 600 },
      output: { summary: 'All services answered within their latency budgets', checked: 12 },
    };

    // Act
    const text = formatRecord(record);

    // Assess
    expect(text).toBe(
      [
        'id           job_1',
        'description  -',
        'config       {"timeout":600}',
        'output       {',
        '               "summary": "All services answered within their latency budgets",',
        '               "checked": 12',
        '             }',
      ].join('\n'),
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [null, '-'],
    [850, '850ms'],
    [1234, '1.2s'],
    [125_000, '2m 05s'],
    [3_720_000, '1h 02m'],
  ])('%s ms reads %s', (ms, expected) => {
    // Act
    const text = formatDuration(ms);

    // Assess
    expect(text).toBe(expected);
  });
});

describe('formatErrorLine', () => {
  it('names the status, the code and each field with its problem', () => {
    // Prepare
    const error = {
      status: 422,
      code: 'validation_failed',
      message: 'cron_schedule: is not a valid 5-field cron expression (and 1 more problem)',
      details: [
        { path: 'cron_schedule', message: 'is not a valid 5-field cron expression' },
        { path: 'cron_timezone', message: 'is not a known IANA timezone' },
      ],
    };

    // Act
    const line = formatErrorLine(error);

    // Assess
    expect(line).toBe(
      'error: 422 validation_failed: cron_schedule: is not a valid 5-field cron expression; ' +
        'cron_timezone: is not a known IANA timezone',
    );
  });

  it('uses the message when there are no details, without repeating a status and code it already carries', () => {
    // Prepare
    const plain = { status: 404, code: 'not_found', message: 'No job with id "x".', details: [] };
    const prefixed = { ...plain, message: '404 not_found: No job with id "x".' };

    // Act
    const lines = [formatErrorLine(plain), formatErrorLine(prefixed)];

    // Assess
    expect(lines).toEqual([
      'error: 404 not_found: No job with id "x".',
      'error: 404 not_found: No job with id "x".',
    ]);
  });

  it('leaves the status out when no answer arrived and keeps a multi-line message on one line', () => {
    // Prepare
    const error = {
      status: 0,
      code: 'network_error',
      message: 'GET /jobs failed:\n  fetch failed',
      details: [],
    };

    // Act
    const line = formatErrorLine(error);

    // Assess
    expect(line).toBe('error: network_error: GET /jobs failed: fetch failed');
  });
});

describe('parseAssignments', () => {
  it('takes key=value as a string and key:=<json> as JSON, splitting at the first "="', () => {
    // Prepare
    const items = [
      'service=api',
      'replicas:=3',
      'dry_run:=true',
      'tags:=["a","b"]',
      'url=https://x.test/?a=b',
    ];

    // Act
    const parameters = parseAssignments(items, '-p');

    // Assess
    expect(parameters).toEqual({
      service: 'api',
      replicas: 3,
      dry_run: true,
      tags: ['a', 'b'],
      url: 'https://x.test/?a=b',
    });
  });

  it.each([
    ['service', 'expected key=value'],
    ['=api', 'the key is empty'],
    ['count:=three', 'not valid JSON'],
  ])('refuses %j as a usage error', (item, message) => {
    // Act
    const parse = () => parseAssignments([item], '-p');

    // Assess
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});
