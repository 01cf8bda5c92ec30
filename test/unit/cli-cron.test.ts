import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { run } from '../../cli/run.js';

/** Runs `jobs cron …` at the instant `now`, with no service: any request fails the test. */
async function cron(argv: string[], now: string) {
  let stdout = '';
  let stderr = '';
  const code = await run(['cron', ...argv], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: tmpdir(),
    now: () => new Date(now),
    fetch: async (input) => {
      throw new Error(`jobs cron sent a request to ${String(input)}`);
    },
  });
  return { code, stdout, stderr };
}

describe('jobs cron', () => {
  it('flags the local time New York skips when clocks spring forward on 14 March 2027', async () => {
    // Act
    const result = await cron(['30 2 * * *', '--tz', 'America/New_York', '-n', '3'], '2027-03-13T12:00:00Z');

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'expression   30 2 * * *',
        'timezone     America/New_York',
        'eventbridge  cron(30 2 * * ? *)',
        '',
        'LOCAL TIME            UTC                   NOTE',
        'Sun 2027-03-14 02:30  -                     skipped: this local time does not exist that day (clocks spring forward)',
        'Mon 2027-03-15 02:30  2027-03-15T06:30:00Z',
        'Tue 2027-03-16 02:30  2027-03-16T06:30:00Z',
        'Wed 2027-03-17 02:30  2027-03-17T06:30:00Z',
        '',
      ].join('\n'),
    );
  });

  it('flags the local time New York repeats when clocks fall back, firing at the first', async () => {
    // Act
    const result = await cron(['30 1 * * *', '--tz', 'America/New_York', '-n', '2'], '2027-11-06T12:00:00Z');

    // Assess
    expect(result.stdout).toContain(
      'Sun 2027-11-07 01:30  2027-11-07T05:30:00Z  repeated local time (clocks fall back): fires once, at the first',
    );
    expect(result.stdout).toContain('Mon 2027-11-08 01:30  2027-11-08T06:30:00Z\n');
  });

  it("follows Lord Howe's half-hour changes: 02:00 and 02:15 skipped in October, 01:45 repeated in April", async () => {
    // Act
    const spring = await cron(
      ['*/15 * * * *', '--tz', 'Australia/Lord_Howe', '-n', '3', '--from', '2027-10-02T15:10:00Z'],
      '2020-01-01T00:00:00Z',
    );
    const fall = await cron(['45 1 * * *', '--tz', 'Australia/Lord_Howe', '-n', '2'], '2027-04-02T12:00:00Z');

    // Assess
    expect(spring.stdout.split('\n').slice(4, 9)).toEqual([
      'LOCAL TIME            UTC                   NOTE',
      'Sun 2027-10-03 01:45  2027-10-02T15:15:00Z',
      'Sun 2027-10-03 02:00  -                     skipped: this local time does not exist that day (clocks spring forward)',
      'Sun 2027-10-03 02:15  -                     skipped: this local time does not exist that day (clocks spring forward)',
      'Sun 2027-10-03 02:30  2027-10-02T15:30:00Z',
    ]);
    expect(fall.stdout).toContain(
      'Sun 2027-04-04 01:45  2027-04-03T14:45:00Z  repeated local time (clocks fall back): fires once, at the first',
    );
  });

  it('prints both EventBridge expressions when both day fields are restricted', async () => {
    // Act
    const result = await cron(['0 9 1 * MON', '-n', '1'], '2027-03-01T12:00:00Z');

    // Assess
    expect(result.stdout).toContain('eventbridge  cron(0 9 1 * ? *)\n             cron(0 9 ? * 2 *)\n');
  });

  it('prints the preview as JSON with --json', async () => {
    // Act
    const result = await cron(
      ['30 2 * * *', '--tz', 'America/New_York', '-n', '1', '--json'],
      '2027-03-13T12:00:00Z',
    );

    // Assess
    expect(JSON.parse(result.stdout)).toEqual({
      expression: '30 2 * * *',
      timezone: 'America/New_York',
      schedule_expression: ['cron(30 2 * * ? *)'],
      fires: [{ local: '2027-03-15T02:30', utc: '2027-03-15T06:30:00.000Z', repeated_local_time: false }],
      skipped: [{ local: '2027-03-14T02:30', reason: 'nonexistent_local_time' }],
    });
  });

  it('names each invalid argument or flag on one line and exits 2: nothing was sent', async () => {
    // Act
    const result = await cron(['61 * * * *', '--tz', 'Mars/Olympus_Mons', '-n', '0'], '2027-03-13T12:00:00Z');

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error: <expression>: is not a valid 5-field cron expression: minute: 61 is out of range 0-59; ' +
        '--tz: is not a known IANA timezone (for example "UTC" or "America/New_York"); ' +
        '-n/--count: must be a whole number from 1 to 100\n',
    );
  });

  it.each([
    [['0', '9', '*', '*', '*'], 'cron takes one argument, the whole expression in quotes (got 5)'],
    [['0 9 * * *', '--from', 'yesterday'], '--from "yesterday" is not an ISO 8601 date-time'],
    [[], 'missing argument <expression>'],
  ])('refuses %j as a usage error (exit 2)', async (argv, message) => {
    // Act
    const result = await cron(argv, '2027-03-13T12:00:00Z');

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
