import type { ErrorDetail } from '../sdk/index.js';

/** One column of a table: its header and how a row shows in it. */
export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Longer cells are cut to this many characters, ending in `…`. */
  max?: number;
}

const GAP = '  ';

/** Cuts `text` to `max` characters, marking the cut with `…`. */
function truncate(text: string, max: number | undefined): string {
  return max !== undefined && text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Keeps a cell on one line: a newline inside a value would break the columns. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/**
 * Rows as an aligned text table with an upper-case header, columns two spaces apart, no trailing spaces.
 * `widths` fixes the column widths (for lines printed one at a time, as `--watch` does); cells wider than
 * their column push the rest of their line right rather than being cut. `header: false` leaves the
 * header line out.
 */
export function formatTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  options: { widths?: readonly number[]; header?: boolean } = {},
): string {
  const cells = rows.map((row) => columns.map((column) => truncate(oneLine(column.value(row)), column.max)));
  const headers = columns.map((column) => column.header.toUpperCase());
  const widths = options.widths ?? columnWidths(rows, columns);
  const render = (line: readonly string[]) =>
    line
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join(GAP)
      .trimEnd();
  const lines = cells.map(render);
  return (options.header === false ? lines : [render(headers), ...lines]).join('\n');
}

/** Column widths that fit `rows` and never shrink below `minimum` (one entry per column). */
export function columnWidths<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  minimum: readonly number[] = [],
): number[] {
  return columns.map((column, i) =>
    Math.max(
      column.header.length,
      minimum[i] ?? 0,
      ...rows.map((row) => truncate(oneLine(column.value(row)), column.max).length),
    ),
  );
}

/** `value` as a table cell or a field of a record view: `-` for nothing, JSON for objects. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * A record as `name  value` lines, names aligned. Objects that do not fit on a line are pretty-printed
 * on the lines below, indented under the values.
 */
export function formatRecord(record: Readonly<Record<string, unknown>>): string {
  const names = Object.keys(record);
  const width = Math.max(0, ...names.map((name) => name.length));
  const indent = ' '.repeat(width + GAP.length);
  return names
    .map((name) => {
      const value = record[name];
      let text = formatValue(value);
      if (typeof value === 'object' && value !== null && text.length > 60) {
        text = JSON.stringify(value, null, 2).replaceAll('\n', `\n${indent}`);
      } else if (typeof value === 'string') {
        text = text.replaceAll('\n', `\n${indent}`);
      }
      return `${name.padEnd(width)}${GAP}${text}`.trimEnd();
    })
    .join('\n');
}

/** A duration for people: `850ms`, `1.2s`, `2m 05s`, `1h 02m`; `-` when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return hours > 0
    ? `${hours}h ${String(minutes).padStart(2, '0')}m`
    : `${minutes}m ${String(seconds).padStart(2, '0')}s`;
}

/** An ISO instant without its milliseconds (`2027-03-14T07:30:00Z`); `-` when absent. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** What an error line needs: the service's (or the domain's) status, code, message and field details. */
export interface ReportedError {
  /** HTTP status; 0 when no answer arrived. */
  status: number;
  code: string;
  message: string;
  details: readonly ErrorDetail[];
}

/**
 * The one line an error prints: `error: 422 validation_failed: cron_schedule: is not a valid …`, each
 * field problem named by its path (several joined with `; `), else the message. A message that already
 * starts with the status and code (as the SDK's do) is not prefixed twice.
 */
export function formatErrorLine(error: ReportedError): string {
  const status = error.status > 0 ? `${error.status} ` : '';
  const prefix = `${status}${error.code}: `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const problems = error.details.map((detail) =>
    detail.path ? `${detail.path}: ${detail.message}` : detail.message,
  );
  return `error: ${prefix}${oneLine(problems.length > 0 ? problems.join('; ') : message)}`;
}
