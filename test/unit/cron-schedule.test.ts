import awsCronParser from 'aws-cron-parser';
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { toEventBridgeCron } from '../../shared/domain/aws-cron.js';
import { parseCron } from '../../shared/domain/cron.js';
import { nextFireTimes, wallTimeOf } from '../../shared/domain/cron-schedule.js';

/** The cron examples of the reference page. */
const REFERENCE_EXPRESSIONS = [
  '0 9 * * *',
  '0 * * * *',
  '*/15 * * * *',
  '0 8 * * 1',
  '0 0 1 * *',
  '0 17 * * 1-5',
  '0 2 * * 0',
  '0 2 * * *',
  '0 0 * * 0',
  '0 10 * * *',
];
const MORE_EXPRESSIONS = [
  '30 4 1,15 * 5',
  '5,10 */6 1-7 JAN,JUL MON-FRI',
  '0 0 29 2 *',
  '45 23 * * 7',
  '0 12 */10 * *',
];
const TIMEZONES = ['UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata'];

/** A zone's offset at an instant, minutes. */
function offsetAt(instant: number, timezone: string): number {
  const wall = wallTimeOf(instant, timezone);
  return (Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute) - instant) / 60_000;
}

describe('nextFireTimes against an independent implementation (croner)', () => {
  const cases = [...REFERENCE_EXPRESSIONS, ...MORE_EXPRESSIONS].flatMap((expression) =>
    TIMEZONES.map((timezone) => [expression, timezone] as const),
  );

  it.each(cases)(
    '%s in %s: the next 40 fires agree wherever no DST change is near',
    (expression, timezone) => {
      // Prepare
      const after = new Date('2026-01-10T13:37:00Z');
      const reference = new Cron(expression, { timezone, legacyMode: true });

      // Act
      const ours = nextFireTimes(parseCron(expression), timezone, after, 40).fires.map((fire) =>
        fire.at.getTime(),
      );
      const theirs = (reference.nextRuns(40, after) as Date[]).map((date) => date.getTime());

      // Assess: within the window both lists cover, fires a day or more away from an offset change match
      // exactly (near a change the rule is ours, checked below).
      const until = Math.min(ours.at(-1) ?? 0, theirs.at(-1) ?? 0);
      const stable = (instant: number) =>
        instant <= until &&
        offsetAt(instant - 86_400_000, timezone) === offsetAt(instant + 86_400_000, timezone);
      expect(ours.filter(stable)).toEqual(theirs.filter(stable));
      expect(ours.length).toBeGreaterThan(0);
    },
  );
});

describe('DST rule (EventBridge Scheduler): a skipped local time does not fire, a repeated one fires once', () => {
  it.each([
    // New York springs forward 2026-03-08 02:00 → 03:00: 02:30 does not exist that day.
    [
      '30 2 * * *',
      'America/New_York',
      '2026-03-07T00:00:00Z',
      ['2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z'],
      ['2026-03-08T02:30'],
    ],
    // New York falls back 2026-11-01 02:00 → 01:00: 01:30 happens twice and fires at the first.
    [
      '30 1 * * *',
      'America/New_York',
      '2026-10-31T12:00:00Z',
      ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
      [],
    ],
    // London springs forward 2026-03-29 01:00 → 02:00.
    [
      '15 1 * * *',
      'Europe/London',
      '2026-03-28T12:00:00Z',
      ['2026-03-30T00:15:00.000Z'],
      ['2026-03-29T01:15'],
    ],
    // London falls back 2026-10-25 02:00 → 01:00: 01:15 twice, fires at the first (BST).
    [
      '15 1 * * *',
      'Europe/London',
      '2026-10-24T12:00:00Z',
      ['2026-10-25T00:15:00.000Z', '2026-10-26T01:15:00.000Z'],
      [],
    ],
    // Lord Howe moves by half an hour: 2026-10-04 02:00 → 02:30, so 02:00 and 02:15 do not exist.
    [
      '15 2 * * *',
      'Australia/Lord_Howe',
      '2026-10-03T00:00:00Z',
      ['2026-10-04T15:15:00.000Z'],
      ['2026-10-04T02:15'],
    ],
    // …and back 2026-04-05 02:00 → 01:30: 01:45 happens twice, first at +11:00.
    [
      '45 1 * * *',
      'Australia/Lord_Howe',
      '2026-04-04T00:00:00Z',
      ['2026-04-04T14:45:00.000Z', '2026-04-05T15:15:00.000Z'],
      [],
    ],
  ] as const)('%s in %s after %s', (expression, timezone, after, expectedFires, expectedSkipped) => {
    // Act
    const { fires, skipped } = nextFireTimes(
      parseCron(expression),
      timezone,
      new Date(after),
      expectedFires.length,
    );

    // Assess
    expect(fires.map((fire) => fire.at.toISOString())).toEqual(expectedFires);
    expect(skipped.map((skip) => skip.local)).toEqual(expectedSkipped);
  });

  it('fires every quarter hour through a fall-back night without repeating the repeated hour', () => {
    // Act
    const { fires } = nextFireTimes(
      parseCron('*/15 * * * *'),
      'America/New_York',
      new Date('2026-11-01T04:50:00Z'),
      8,
    );

    // Assess: 01:00–01:45 once (EDT), then straight on to 02:00 EST.
    expect(fires.map((fire) => fire.local)).toEqual([
      '2026-11-01T01:00',
      '2026-11-01T01:15',
      '2026-11-01T01:30',
      '2026-11-01T01:45',
      '2026-11-01T02:00',
      '2026-11-01T02:15',
      '2026-11-01T02:30',
      '2026-11-01T02:45',
    ]);
    expect(fires.filter((fire) => fire.repeated)).toHaveLength(4);
    expect(fires[4]?.at.getTime()).toBe(Date.parse('2026-11-01T07:00:00Z'));
  });

  it('finds no fire for a date that never comes', () => {
    // Act
    const { fires } = nextFireTimes(parseCron('0 0 30 2 *'), 'UTC', new Date('2026-01-01T00:00:00Z'), 1);

    // Assess
    expect(fires).toEqual([]);
  });
});

describe('toEventBridgeCron', () => {
  it.each([
    ['0 9 * * *', ['cron(0 9 * * ? *)']],
    ['*/15 * * * *', ['cron(0/15 * * * ? *)']],
    ['0 8 * * 1', ['cron(0 8 ? * 2 *)']],
    ['0 0 1 * *', ['cron(0 0 1 * ? *)']],
    ['0 17 * * 1-5', ['cron(0 17 ? * 2-6 *)']],
    ['0 2 * * 0', ['cron(0 2 ? * 1 *)']],
    ['0 0 * * 7', ['cron(0 0 ? * 1 *)']],
    ['30 4 1,15 * 5', ['cron(30 4 1,15 * ? *)', 'cron(30 4 ? * 6 *)']],
    ['0 12 */10 * *', ['cron(0 12 1/10 * ? *)']],
    // No steps in EventBridge's day-of-week field: a progression of weekdays is written as a list.
    ['0 9 * * 1,3,5', ['cron(0 9 ? * 2,4,6 *)']],
    ['0 0 * * */2', ['cron(0 0 ? * 1,3,5,7 *)']],
    ['0 0 * * 0,3,6', ['cron(0 0 ? * 1,4,7 *)']],
  ])('maps %s to %j', (expression, expected) => {
    // Act
    const mapped = toEventBridgeCron(parseCron(expression));

    // Assess
    expect(mapped).toEqual(expected);
  });

  // Not days past a month's end (29 February, day 31 of `*/10`): the evaluator rolls them over into the
  // next month (a "31 February" on 3 March) where EventBridge does not fire; croner and the DST table
  // above cover those expressions.
  const beyondMonthEnd = ['0 0 29 2 *', '0 12 */10 * *'];
  it.each([
    ...REFERENCE_EXPRESSIONS,
    ...MORE_EXPRESSIONS.filter((e) => !beyondMonthEnd.includes(e)),
    '*/7 * * * *',
    '0 0 1-7 * SUN',
    '0 9 * * 1,3,5',
    '0 0 * * */2',
  ])(
    '%s: an independent AWS cron evaluator fires exactly when the Unix expression does, over a year (UTC)',
    (expression) => {
      // Prepare
      const start = new Date('2026-01-01T00:00:00Z');
      const end = Date.parse('2027-01-01T00:00:00Z');
      const unix = nextFireTimes(parseCron(expression), 'UTC', new Date(start.getTime() - 1), 200_000)
        .fires.map((fire) => fire.at.getTime())
        .filter((instant) => instant < end);

      // Act
      const aws = new Set<number>();
      for (const schedule of toEventBridgeCron(parseCron(expression))) {
        const parsed = awsCronParser.parse(schedule.slice('cron('.length, -1));
        let next = awsCronParser.next(parsed, new Date(start.getTime() - 1000));
        while (next && next.getTime() < end) {
          aws.add(next.getTime());
          next = awsCronParser.next(parsed, new Date(next.getTime() + 1000));
        }
      }

      // Assess: the union of the schedules is the Unix fire set (a time matching both fires once after dedupe).
      expect([...aws].sort((a, b) => a - b)).toEqual(unix);
    },
  );
});

describe("the expressions written follow EventBridge Scheduler's cron grammar", () => {
  // Per field, the characters the AWS cron reference allows: minutes, hours, day-of-month (with ? L W),
  // month, day-of-week (with ? L #, and no /), year.
  const allowed = [
    /^[0-9,\-*/]+$/,
    /^[0-9,\-*/]+$/,
    /^[0-9,\-*/?LW]+$/,
    /^[0-9,\-*/]+$/,
    /^[0-9,\-*?L#]+$/,
    /^\*$/,
  ];
  it.each([
    ...REFERENCE_EXPRESSIONS,
    ...MORE_EXPRESSIONS,
    '0 9 * * 1,3,5',
    '0 0 * * */2',
    '0 0 * * 1-5/2',
    '*/7 */3 */5 */2 *',
    '0 0 1-7 * SUN',
    '5,10,15,20 0-23/6 1,15 JAN-JUN/2 MON,WED',
  ])('%s', (expression) => {
    // Act
    const schedules = toEventBridgeCron(parseCron(expression));

    // Assess
    for (const schedule of schedules) {
      const fields = /^cron\((.*)\)$/.exec(schedule)?.[1]?.split(' ') ?? [];
      expect(fields).toHaveLength(6);
      fields.forEach((value, index) => {
        expect(value, `field ${index + 1} of ${schedule}`).toMatch(allowed[index] as RegExp);
      });
      // Exactly one day field is "?".
      expect([fields[2], fields[4]].filter((value) => value === '?')).toHaveLength(1);
    }
  });
});

describe('expressions EventBridge cannot express', () => {
  it('refuses a day-of-month step combined with a weekday, saying why', () => {
    // Act
    const attempt = () => toEventBridgeCron(parseCron('0 9 */10 * MON'));

    // Assess
    expect(attempt).toThrow(/both must match/);
  });
});
