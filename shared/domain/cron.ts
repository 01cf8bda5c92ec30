/**
 * Five-field Unix cron expressions (minute hour day-of-month month day-of-week), as the reference
 * uses them: lists, ranges, steps and the names JAN–DEC / SUN–SAT. Pure: no clock, no timezone.
 */

export interface CronFieldSpec {
  name: 'minute' | 'hour' | 'day_of_month' | 'month' | 'day_of_week';
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = [
  'JAN',
  'FEB',
  'MAR',
  'APR',
  'MAY',
  'JUN',
  'JUL',
  'AUG',
  'SEP',
  'OCT',
  'NOV',
  'DEC',
] as const;
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

export const CRON_FIELDS: readonly CronFieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day_of_month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  // 7 is Sunday too, as in Vixie cron; it is folded into 0 after parsing.
  { name: 'day_of_week', min: 0, max: 7, names: DAY_NAMES },
];

/** A parsed expression: the set of allowed values per field, plus whether each day field was restricted. */
export interface CronExpression {
  source: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 folded into 0). */
  daysOfWeek: ReadonlySet<number>;
  /** Unix cron ORs the two day fields when both are restricted (neither starts with `*`). */
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

export class CronSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronSyntaxError';
  }
}

/** Parses a 5-field expression or throws a `CronSyntaxError` naming the field and the problem. */
export function parseCron(source: string): CronExpression {
  const fields = source.trim().split(/\s+/);
  if (source.trim() === '' || fields.length !== 5) {
    throw new CronSyntaxError(
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${source.trim() === '' ? 0 : fields.length}`,
    );
  }
  const sets = fields.map((text, index) => parseField(text, CRON_FIELDS[index] as CronFieldSpec));
  const [minutes, hours, daysOfMonth, months, rawDaysOfWeek] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const daysOfWeek = new Set([...rawDaysOfWeek].map((day) => day % 7));
  return {
    source,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    dayOfMonthRestricted: !(fields[2] as string).startsWith('*'),
    dayOfWeekRestricted: !(fields[4] as string).startsWith('*'),
  };
}

function parseField(text: string, spec: CronFieldSpec): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') throw new CronSyntaxError(`${spec.name}: empty list item in "${text}"`);
    const [rangeText, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new CronSyntaxError(`${spec.name}: more than one "/" in "${part}"`);
    const step = stepText === undefined ? 1 : parseStep(stepText, spec);
    let low: number;
    let high: number;
    if (rangeText === '*') {
      low = spec.min;
      high = spec.max;
    } else {
      const bounds = (rangeText as string).split('-');
      if (bounds.length > 2) throw new CronSyntaxError(`${spec.name}: malformed range "${rangeText}"`);
      low = parseValue(bounds[0] as string, spec);
      // "a/n" means from a to the end of the field, stepping n.
      high =
        bounds.length === 2 ? parseValue(bounds[1] as string, spec) : stepText === undefined ? low : spec.max;
      if (low > high) throw new CronSyntaxError(`${spec.name}: range "${rangeText}" runs backwards`);
    }
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

function parseStep(text: string, spec: CronFieldSpec): number {
  if (!/^\d+$/.test(text)) throw new CronSyntaxError(`${spec.name}: step "${text}" is not a number`);
  const step = Number(text);
  if (step < 1 || step > spec.max - spec.min + 1) {
    throw new CronSyntaxError(`${spec.name}: step ${text} is out of range 1-${spec.max - spec.min + 1}`);
  }
  return step;
}

function parseValue(text: string, spec: CronFieldSpec): number {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < spec.min || value > spec.max) {
      throw new CronSyntaxError(`${spec.name}: ${text} is out of range ${spec.min}-${spec.max}`);
    }
    return value;
  }
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index < 0) throw new CronSyntaxError(`${spec.name}: "${text}" is not a valid value`);
  return spec.name === 'month' ? index + 1 : index;
}
