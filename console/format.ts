/** Formatting of times, durations and shares for the console. Pure: takes its clock and locale as input. */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string | undefined, withZone: boolean): Intl.DateTimeFormat {
  const key = `${timeZone ?? ''}|${withZone}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat(undefined, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      ...(timeZone !== undefined && { timeZone }),
      ...(withZone && { timeZoneName: 'short' }),
    });
    formatters.set(key, found);
  }
  return found;
}

/** An ISO instant as a date and time in `timeZone` (the viewer's when absent), with the zone's abbreviation. */
export function formatInstant(iso: string, timeZone?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    return formatter(timeZone, true).format(date);
  } catch {
    // An unknown zone (a job read by a newer service): fall back to the viewer's.
    return formatter(undefined, true).format(date);
  }
}

/** A duration in milliseconds, as people say it: `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) {
    const seconds = totalSeconds % 60;
    return `${Math.floor(totalSeconds / 60)} min${seconds ? ` ${seconds} s` : ''}`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  if (totalMinutes < 48 * 60) {
    const minutes = totalMinutes % 60;
    return `${Math.floor(totalMinutes / 60)} h${minutes ? ` ${minutes} min` : ''}`;
  }
  return `${Math.round(totalMinutes / 1440)} days`;
}

/** How long ago (or how far ahead) `iso` is from `now`: `just now`, `5 min ago`, `in 2 h`. */
export function formatRelative(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '';
  const delta = at - now;
  if (Math.abs(delta) < 5_000) return 'just now';
  const text = formatDuration(Math.abs(delta)).replace(/ \d+ (s|min)$/, '');
  return delta < 0 ? `${text} ago` : `in ${text}`;
}

/** The share of `succeeded` among finished runs, as a whole percentage, or null when none finished. */
export function successShare(statuses: readonly string[]): { percent: number; of: number } | null {
  const finished = statuses.filter((status) => status !== 'queued' && status !== 'running');
  if (finished.length === 0) return null;
  const succeeded = finished.filter((status) => status === 'succeeded').length;
  return { percent: Math.round((succeeded / finished.length) * 100), of: finished.length };
}

/** A JSON value as indented text for a `<pre>`; strings are shown as they are. */
export function formatJson(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value, null, 2);
}
