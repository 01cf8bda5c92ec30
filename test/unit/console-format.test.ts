import { describe, expect, it } from 'vitest';
import { cronInWords } from '../../console/cron-words.js';
import { formatDuration, formatRelative, successShare } from '../../console/format.js';
import { apiBaseUrl, parseRoute } from '../../console/routes.js';

describe('cronInWords', () => {
  it.each([
    ['* * * * *', 'every minute'],
    ['*/5 * * * *', 'every 5 minutes'],
    ['0 * * * *', 'every hour, on the hour'],
    ['15 * * * *', 'every hour at :15'],
    ['0 */6 * * *', 'every 6 hours at :00'],
    ['30 2 * * *', 'at 02:30'],
    ['0 9 * * 1-5', 'at 09:00, on Mon–Fri'],
    ['0 9,17 * * MON,WED', 'at 09:00, 17:00, on Mon, Wed'],
    ['0 0 1 * *', 'at 00:00, on day 1 of the month'],
    ['0 0 1,15 1,7 *', 'at 00:00, on day 1, 15 of the month, in Jan, Jul'],
    ['0 12 13 * 5', 'at 12:00, on day 13 of the month or on Fri'],
    ['0 0 * * 0,7', 'at 00:00, on Sun'],
    ['5,10 8-18 * * *', 'at minutes 05, 10 during hours 08–18'],
  ])('reads %s as "%s"', (expression, words) => {
    // Act, Assess
    expect(cronInWords(expression)).toBe(words);
  });

  it('gives null for an expression that does not parse', () => {
    // Act, Assess
    expect(cronInWords('61 * * * *')).toBeNull();
    expect(cronInWords('every day')).toBeNull();
  });
});

describe('formatting', () => {
  it('says durations as people say them', () => {
    // Act, Assess
    expect([null, 850, 4_200, 65_000, 3_600_000 + 600_000, 5 * 86_400_000].map(formatDuration)).toEqual([
      '—',
      '850 ms',
      '4.2 s',
      '1 min 5 s',
      '1 h 10 min',
      '5 days',
    ]);
  });

  it('says how long ago or ahead an instant is', () => {
    // Prepare
    const now = Date.parse('2026-01-01T12:00:00Z');

    // Act, Assess
    expect(formatRelative('2026-01-01T11:57:00Z', now)).toBe('3 min ago');
    expect(formatRelative('2026-01-01T12:00:02Z', now)).toBe('just now');
    expect(formatRelative('2026-01-01T14:30:00Z', now)).toBe('in 2 h');
  });

  it('counts the share of successes among finished runs only', () => {
    // Act, Assess
    expect(successShare(['succeeded', 'failed', 'running', 'succeeded', 'timed_out'])).toEqual({
      percent: 50,
      of: 4,
    });
    expect(successShare(['queued'])).toBeNull();
  });
});

describe('routes and the API base', () => {
  it('reads every view from the hash, decoding ids', () => {
    // Act, Assess
    expect(parseRoute('')).toMatchObject({ view: 'jobs' });
    expect(parseRoute('#/jobs?enabled=true')).toMatchObject({ view: 'jobs' });
    expect((parseRoute('#/jobs?enabled=true') as { query: URLSearchParams }).query.get('enabled')).toBe(
      'true',
    );
    expect(parseRoute('#/jobs/new')).toEqual({ view: 'job-new' });
    expect(parseRoute('#/jobs/job%2F1')).toEqual({ view: 'job', jobId: 'job/1' });
    expect(parseRoute('#/jobs/j1/edit')).toEqual({ view: 'job-edit', jobId: 'j1' });
    expect(parseRoute('#/jobs/j1/runs/e1')).toEqual({ view: 'run', jobId: 'j1', executionId: 'e1' });
    expect(parseRoute('#/entities/new')).toEqual({ view: 'entity-new' });
    expect(parseRoute('#/entities/a.b')).toEqual({ view: 'entity', entityId: 'a.b' });
    expect(parseRoute('#/jobs/%E0%A4%A')).toMatchObject({ view: 'not-found' });
    expect(parseRoute('#/nowhere')).toMatchObject({ view: 'not-found' });
  });

  it('finds the API next to the page, keeping a stage prefix', () => {
    // Act, Assess
    expect(apiBaseUrl({ origin: 'http://127.0.0.1:3000', pathname: '/console' })).toBe(
      'http://127.0.0.1:3000',
    );
    expect(apiBaseUrl({ origin: 'https://x.example', pathname: '/prod/console' })).toBe(
      'https://x.example/prod',
    );
  });
});
