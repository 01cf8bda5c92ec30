import type { CronExpression } from './cron.js';

/**
 * When a cron expression fires in an IANA timezone, following EventBridge Scheduler's rule for
 * daylight-saving changes (ours to enforce: cron libraries differ here):
 * - a local time that does not exist (clocks spring forward over it) does not fire that day;
 * - a local time that happens twice (clocks fall back) fires once, at its first occurrence.
 */

export interface FireTime {
  /** The instant, UTC. */
  at: Date;
  /** The wall-clock time in the zone, `YYYY-MM-DDTHH:mm`. */
  local: string;
  /** The local time happened twice (clocks fell back); it fired at the first. */
  repeated: boolean;
}

export interface SkippedFire {
  /** The wall-clock time that does not exist that day. */
  local: string;
  reason: 'nonexistent_local_time';
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let found = formatters.get(timezone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timezone, found);
  }
  return found;
}

/** The wall-clock time an instant shows in the zone. */
export function wallTimeOf(instant: number, timezone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timezone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year as number,
    month: parts.month as number,
    day: parts.day as number,
    hour: parts.hour as number,
    minute: parts.minute as number,
  };
}

const asUtc = (wall: WallTime) => Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
const same = (a: WallTime, b: WallTime) =>
  a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute;

export function formatWall(wall: WallTime): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${wall.year}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}`;
}

/**
 * The first instant whose wall-clock time in the zone is `wall`, or null if the zone skips it. Zone
 * offsets are whole minutes and change at most a few hours apart, so the candidates are the wall
 * time shifted by the offsets in force a day before and a day after.
 */
export function instantOf(wall: WallTime, timezone: string): number | null {
  return resolveWallTime(wall, timezone)[0] ?? null;
}

/** Every instant showing `wall` in the zone, earliest first: none (skipped), one, or two (repeated). */
function resolveWallTime(wall: WallTime, timezone: string): number[] {
  const naive = asUtc(wall);
  const offsets = new Set<number>();
  for (const probe of [naive - 86_400_000, naive, naive + 86_400_000]) {
    offsets.add(asUtc(wallTimeOf(probe, timezone)) - probe);
  }
  const matches = [...offsets]
    .map((offset) => naive - offset)
    .filter((candidate) => same(wallTimeOf(candidate, timezone), wall))
    .sort((a, b) => a - b);
  return matches;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Whether the expression's day fields accept this date. As in Vixie cron: when neither day field starts
 * with a star a date matching either fires; otherwise it must match both (so a step over all days, such
 * as every tenth day, still limits them).
 */
function dayMatches(cron: CronExpression, year: number, month: number, day: number): boolean {
  if (!cron.months.has(month)) return false;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const byDate = cron.daysOfMonth.has(day);
  const byWeekday = cron.daysOfWeek.has(weekday);
  if (cron.dayOfMonthRestricted && cron.dayOfWeekRestricted) return byDate || byWeekday;
  return byDate && byWeekday;
}

/**
 * The next `count` fires strictly after `after`, and the local times skipped on the way. Searches at
 * most `horizonDays` (an expression like `0 0 30 2 *` never fires).
 */
export function nextFireTimes(
  cron: CronExpression,
  timezone: string,
  after: Date,
  count: number,
  horizonDays = 366 * 5,
): { fires: FireTime[]; skipped: SkippedFire[] } {
  const fires: FireTime[] = [];
  const skipped: SkippedFire[] = [];
  const start = wallTimeOf(after.getTime(), timezone);
  const hours = [...cron.hours].sort((a, b) => a - b);
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  let { year, month, day } = start;
  for (let scanned = 0; scanned <= horizonDays && fires.length < count; scanned++) {
    if (dayMatches(cron, year, month, day)) {
      for (const hour of hours) {
        for (const minute of minutes) {
          if (fires.length >= count) break;
          const wall = { year, month, day, hour, minute };
          const matches = resolveWallTime(wall, timezone);
          const instant = matches[0];
          if (instant === undefined) {
            if (asUtc(wall) > asUtc(start))
              skipped.push({ local: formatWall(wall), reason: 'nonexistent_local_time' });
            continue;
          }
          if (instant <= after.getTime()) continue;
          fires.push({ at: new Date(instant), local: formatWall(wall), repeated: matches.length > 1 });
        }
      }
    }
    day++;
    if (day > daysInMonth(year, month)) {
      day = 1;
      month++;
      if (month > 12) {
        month = 1;
        year++;
      }
    }
  }
  return { fires, skipped };
}

/**
 * Whether the expression names the wall-clock minute `instant` shows in the zone: what a fire for this
 * instant must satisfy. Either occurrence of a repeated local time qualifies, so a scheduler that resolves
 * a fall-back hour differently is still recognised.
 */
export function isFireTime(cron: CronExpression, timezone: string, instant: Date): boolean {
  if (instant.getTime() % 60_000 !== 0) return false;
  const wall = wallTimeOf(instant.getTime(), timezone);
  return (
    cron.minutes.has(wall.minute) &&
    cron.hours.has(wall.hour) &&
    dayMatches(cron, wall.year, wall.month, wall.day)
  );
}

/** The calendar's weekdays and leap years repeat every 28 years (until 2100). */
export const CALENDAR_CYCLE_DAYS = 28 * 366;

/**
 * Whether an expression names no date at all, such as the 30th of February: a search over one calendar
 * cycle from a fixed start decides it.
 */
export function neverFires(cron: CronExpression): boolean {
  return (
    nextFireTimes(cron, 'UTC', new Date(Date.UTC(2001, 0, 1)), 1, CALENDAR_CYCLE_DAYS).fires.length === 0
  );
}
