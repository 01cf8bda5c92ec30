import { describe, expect, it } from 'vitest';
import { previewSchedule as preview } from '../../shared/app/schedule-preview.js';
import { ValidationError } from '../../shared/domain/errors.js';
import { parseQuery } from '../../shared/http/query.js';
import { API_ROUTES } from '../../shared/http/routes/index.js';

/** GET /cron/preview: the query read by the route, then the preview. */
const previewSchedule = (query: Record<string, string>, now: Date) =>
  preview(parseQuery(API_ROUTES.previewSchedule.query, query), now);

const NOW = new Date('2027-03-13T12:00:00.000Z');

function rejection(query: Record<string, string>): ValidationError {
  try {
    previewSchedule(query, NOW);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('the preview should have been refused');
}

describe('previewSchedule', () => {
  it('flags the local time New York skips on 14 March 2027, and lists the fires around it', () => {
    // Act
    const preview = previewSchedule(
      { expression: '30 2 * * *', timezone: 'America/New_York', count: '2' },
      NOW,
    );

    // Assess
    expect(preview).toEqual({
      expression: '30 2 * * *',
      timezone: 'America/New_York',
      schedule_expression: ['cron(30 2 * * ? *)'],
      fires: [
        { local: '2027-03-15T02:30', utc: '2027-03-15T06:30:00.000Z', repeated_local_time: false },
        { local: '2027-03-16T02:30', utc: '2027-03-16T06:30:00.000Z', repeated_local_time: false },
      ],
      skipped: [{ local: '2027-03-14T02:30', reason: 'nonexistent_local_time' }],
    });
  });

  it('lists as many leap days as asked, however far apart', () => {
    // Act
    const preview = previewSchedule({ expression: '0 0 29 2 *', count: '3' }, NOW);

    // Assess
    expect(preview.fires.map((fire) => fire.utc)).toEqual([
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
      '2036-02-29T00:00:00.000Z',
    ]);
  });

  it('refuses an expression that never fires, as job creation does', () => {
    // Act
    const error = rejection({ expression: '0 0 30 2 *' });

    // Assess
    expect(error.details).toEqual([
      {
        path: 'expression',
        message: 'never fires: no month has the day it names (for example "0 0 30 2 *")',
        code: 'never_fires',
      },
    ]);
  });

  it('names every bad parameter at once', () => {
    // Act
    const error = rejection({ expression: '0 9 */10 * MON', timezone: 'Mars/Olympus', count: '101', x: '1' });

    // Assess
    expect(error.details.map((detail) => [detail.path, detail.code])).toEqual([
      ['x', 'unknown_field'],
      ['expression', 'untranslatable_cron'],
      ['timezone', 'invalid'],
      ['count', 'invalid'],
    ]);
  });
});
