import { describe, expect, it } from 'vitest';
import { type CronExpression, CronSyntaxError, parseCron } from '../../shared/domain/cron.js';

/** `from`..`to` inclusive, stepping `step`. */
function range(from: number, to: number, step = 1): Set<number> {
  const values = new Set<number>();
  for (let value = from; value <= to; value += step) values.add(value);
  return values;
}

const EVERY_MINUTE = range(0, 59);
const EVERY_HOUR = range(0, 23);
const EVERY_DAY_OF_MONTH = range(1, 31);
const EVERY_MONTH = range(1, 12);
const EVERY_DAY_OF_WEEK = range(0, 6);

type ParsedSets = Omit<CronExpression, 'source'>;

function expectSets(parsed: CronExpression, expected: ParsedSets): void {
  const { source: _source, ...sets } = parsed;
  expect(sets).toEqual(expected);
}

describe('parseCron', () => {
  // Every expression on the reference page (its cron examples and its job bodies).
  it.each<[string, string, ParsedSets]>([
    [
      '0 9 * * *',
      'every day at 9 AM',
      {
        minutes: new Set([0]),
        hours: new Set([9]),
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: EVERY_DAY_OF_WEEK,
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: false,
      },
    ],
    [
      '0 * * * *',
      'every hour',
      {
        minutes: new Set([0]),
        hours: EVERY_HOUR,
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: EVERY_DAY_OF_WEEK,
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: false,
      },
    ],
    [
      '*/15 * * * *',
      'every 15 minutes',
      {
        minutes: new Set([0, 15, 30, 45]),
        hours: EVERY_HOUR,
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: EVERY_DAY_OF_WEEK,
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: false,
      },
    ],
    [
      '0 8 * * 1',
      'every Monday at 8 AM',
      {
        minutes: new Set([0]),
        hours: new Set([8]),
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: new Set([1]),
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: true,
      },
    ],
    [
      '0 0 1 * *',
      'first day of every month at midnight',
      {
        minutes: new Set([0]),
        hours: new Set([0]),
        daysOfMonth: new Set([1]),
        months: EVERY_MONTH,
        daysOfWeek: EVERY_DAY_OF_WEEK,
        dayOfMonthRestricted: true,
        dayOfWeekRestricted: false,
      },
    ],
    [
      '0 17 * * 1-5',
      'every weekday at 5 PM',
      {
        minutes: new Set([0]),
        hours: new Set([17]),
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: new Set([1, 2, 3, 4, 5]),
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: true,
      },
    ],
    [
      '0 2 * * 0',
      'every Sunday at 2 AM',
      {
        minutes: new Set([0]),
        hours: new Set([2]),
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: new Set([0]),
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: true,
      },
    ],
    [
      '0 2 * * *',
      'daily at 2 AM (Nightly Backup)',
      {
        minutes: new Set([0]),
        hours: new Set([2]),
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: EVERY_DAY_OF_WEEK,
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: false,
      },
    ],
    [
      '0 0 * * 0',
      'every Sunday at midnight (Weekly Security Scan)',
      {
        minutes: new Set([0]),
        hours: new Set([0]),
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: new Set([0]),
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: true,
      },
    ],
    [
      '0 10 * * *',
      'daily at 10 AM (update example)',
      {
        minutes: new Set([0]),
        hours: new Set([10]),
        daysOfMonth: EVERY_DAY_OF_MONTH,
        months: EVERY_MONTH,
        daysOfWeek: EVERY_DAY_OF_WEEK,
        dayOfMonthRestricted: false,
        dayOfWeekRestricted: false,
      },
    ],
  ])('parses the reference expression "%s" (%s)', (expression, _meaning, expected) => {
    // Prepare
    const source = expression;

    // Act
    const parsed = parseCron(source);

    // Assess
    expect(parsed.source).toBe(source);
    expectSets(parsed, expected);
  });

  it('parses "* * * * *" to every value of every field, no day field restricted', () => {
    // Prepare
    const source = '* * * * *';

    // Act
    const parsed = parseCron(source);

    // Assess
    expectSets(parsed, {
      minutes: EVERY_MINUTE,
      hours: EVERY_HOUR,
      daysOfMonth: EVERY_DAY_OF_MONTH,
      months: EVERY_MONTH,
      daysOfWeek: EVERY_DAY_OF_WEEK,
      dayOfMonthRestricted: false,
      dayOfWeekRestricted: false,
    });
  });

  it.each<[string, Set<number>]>([
    ['0 0 * * 7', new Set([0])],
    ['0 0 * * 0,7', new Set([0])],
    ['0 0 * * 5-7', new Set([5, 6, 0])],
    ['0 0 * * 0-7', EVERY_DAY_OF_WEEK],
  ])('folds day of week 7 into Sunday (0) in "%s"', (source, expected) => {
    // Prepare
    const expression = source;

    // Act
    const parsed = parseCron(expression);

    // Assess
    expect(parsed.daysOfWeek).toEqual(expected);
  });

  it.each<[string, keyof ParsedSets, Set<number>]>([
    ['0 9 * * MON-FRI', 'daysOfWeek', new Set([1, 2, 3, 4, 5])],
    ['0 9 * * mon-fri', 'daysOfWeek', new Set([1, 2, 3, 4, 5])],
    ['0 9 * * SAT,SUN', 'daysOfWeek', new Set([6, 0])],
    ['0 9 * * sun', 'daysOfWeek', new Set([0])],
    ['0 9 * * MON-FRI/2', 'daysOfWeek', new Set([1, 3, 5])],
    ['0 9 1 jan,JUL *', 'months', new Set([1, 7])],
    ['0 9 1 Dec *', 'months', new Set([12])],
    ['0 9 1 JAN-MAR *', 'months', new Set([1, 2, 3])],
    ['0 9 1 1-DEC/3 *', 'months', new Set([1, 4, 7, 10])],
  ])('reads names in "%s" (%s)', (source, field, expected) => {
    // Prepare
    const expression = source;

    // Act
    const parsed = parseCron(expression);

    // Assess
    expect(parsed[field]).toEqual(expected);
  });

  it.each<[string, keyof ParsedSets, Set<number>]>([
    ['5/20 * * * *', 'minutes', new Set([5, 25, 45])],
    ['*/20 * * * *', 'minutes', new Set([0, 20, 40])],
    ['1-10/3 * * * *', 'minutes', new Set([1, 4, 7, 10])],
    ['0,30 * * * *', 'minutes', new Set([0, 30])],
    ['0-4,50-59/5 * * * *', 'minutes', new Set([0, 1, 2, 3, 4, 50, 55])],
    ['*/60 * * * *', 'minutes', new Set([0])],
    ['0 9-17 * * *', 'hours', new Set([9, 10, 11, 12, 13, 14, 15, 16, 17])],
    ['0 */6 * * *', 'hours', new Set([0, 6, 12, 18])],
    ['0 0 */10 * *', 'daysOfMonth', new Set([1, 11, 21, 31])],
    ['0 0 15-31 * *', 'daysOfMonth', range(15, 31)],
    ['0 0 1 */3 *', 'months', new Set([1, 4, 7, 10])],
    ['0 0 * * */2', 'daysOfWeek', new Set([0, 2, 4, 6])],
    ['59 23 31 12 6', 'minutes', new Set([59])],
    ['0 0 1,1,1 * *', 'daysOfMonth', new Set([1])],
  ])('expands lists, ranges and steps in "%s" (%s)', (source, field, expected) => {
    // Prepare
    const expression = source;

    // Act
    const parsed = parseCron(expression);

    // Assess
    expect(parsed[field]).toEqual(expected);
  });

  it.each<[string, boolean, boolean]>([
    ['0 0 * * *', false, false],
    ['0 0 1 * *', true, false],
    ['0 0 * * 1', false, true],
    ['0 0 1,15 * MON', true, true],
    ['0 0 1-31 * *', true, false],
    ['0 0 * * 0-6', false, true],
    // As in Vixie cron, a field starting with "*" counts as unrestricted even with a step.
    ['0 0 */2 * */2', false, false],
  ])(
    'flags "%s" as day-of-month restricted %s, day-of-week restricted %s',
    (source, dayOfMonth, dayOfWeek) => {
      // Prepare
      const expression = source;

      // Act
      const parsed = parseCron(expression);

      // Assess
      expect(parsed.dayOfMonthRestricted).toBe(dayOfMonth);
      expect(parsed.dayOfWeekRestricted).toBe(dayOfWeek);
    },
  );

  it('tolerates surrounding and repeated whitespace, tabs included', () => {
    // Prepare
    const source = '  0   9\t* *  1-5 ';

    // Act
    const parsed = parseCron(source);

    // Assess
    expect(parsed.source).toBe(source);
    expectSets(parsed, (({ source: _source, ...sets }) => sets)(parseCron('0 9 * * 1-5')));
  });

  it.each<[string, RegExp]>([
    ['', /expected 5 fields .*got 0/],
    ['   ', /expected 5 fields .*got 0/],
    ['0 9 * *', /expected 5 fields .*got 4/],
    ['0 0 9 * * *', /expected 5 fields .*got 6/],
    ['60 * * * *', /^minute: 60 is out of range 0-59$/],
    ['* 24 * * *', /^hour: 24 is out of range 0-23$/],
    ['* * 0 * *', /^day_of_month: 0 is out of range 1-31$/],
    ['* * 32 * *', /^day_of_month: 32 is out of range 1-31$/],
    ['* * * 13 *', /^month: 13 is out of range 1-12$/],
    ['* * * 0 *', /^month: 0 is out of range 1-12$/],
    ['* * * * 8', /^day_of_week: 8 is out of range 0-7$/],
    ['*/0 * * * *', /^minute: step 0 is out of range 1-60$/],
    ['*/61 * * * *', /^minute: step 61 is out of range 1-60$/],
    ['*/x * * * *', /^minute: step "x" is not a number$/],
    ['*/ * * * *', /^minute: step "" is not a number$/],
    ['5-1 * * * *', /^minute: range "5-1" runs backwards$/],
    ['0 0 * * FRI-MON', /^day_of_week: range "FRI-MON" runs backwards$/],
    ['a * * * *', /^minute: "a" is not a valid value$/],
    ['MON * * * *', /^minute: "MON" is not a valid value$/],
    ['0 0 * JANUARY *', /^month: "JANUARY" is not a valid value$/],
    ['1,,2 * * * *', /^minute: empty list item in "1,,2"$/],
    ['1, * * * *', /^minute: empty list item in "1,"$/],
    ['1/2/3 * * * *', /^minute: more than one "\/" in "1\/2\/3"$/],
    ['1-2-3 * * * *', /^minute: malformed range "1-2-3"$/],
    ['-1 * * * *', /^minute: "" is not a valid value$/],
    ['1- * * * *', /^minute: "" is not a valid value$/],
    ['+1 * * * *', /^minute: "\+1" is not a valid value$/],
    ['1.5 * * * *', /^minute: "1\.5" is not a valid value$/],
    ['? * * * *', /^minute: "\?" is not a valid value$/],
    ['0 0 L * *', /^day_of_month: "L" is not a valid value$/],
    ['0 0 * * 1#2', /^day_of_week: "1#2" is not a valid value$/],
    ['99999999999999999999 * * * *', /^minute: 99999999999999999999 is out of range 0-59$/],
    ['@daily', /expected 5 fields .*got 1/],
  ])('rejects "%s"', (source, message) => {
    // Prepare
    const parse = () => parseCron(source);

    // Act
    let caught: unknown;
    try {
      parse();
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(CronSyntaxError);
    expect((caught as CronSyntaxError).name).toBe('CronSyntaxError');
    expect((caught as CronSyntaxError).message).toMatch(message);
  });
});
