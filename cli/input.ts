import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from './command.js';

/**
 * The text of `source`: a file (relative to `cwd`), or standard input when it is `-`. A file that cannot
 * be read is a `UsageError` naming the option it came from.
 */
export async function readSource(
  source: string,
  option: string,
  io: { cwd: string; readStdin?: () => Promise<string> },
): Promise<string> {
  if (source === '-') {
    if (!io.readStdin)
      throw new UsageError(`${option} -: standard input is not available`, { showUsage: false });
    return io.readStdin();
  }
  try {
    return await readFile(resolve(io.cwd, source), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code;
    throw new UsageError(
      `${option} ${source}: cannot read the file (${reason ?? (error as Error).message})`,
      { showUsage: false },
    );
  }
}

/** `text` parsed as a JSON object; anything else is a `UsageError` saying where it came from. */
export function parseJsonObject(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where} is not valid JSON: ${(error as Error).message}`, { showUsage: false });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${where} must hold a JSON object ({…})`, { showUsage: false });
  }
  return value as Record<string, unknown>;
}

/**
 * `key=value` pairs (value taken as a string) and `key:=json` pairs (value parsed as JSON, as httpie
 * does), later keys replacing earlier ones.
 * @param option the option the pairs came from, for messages (`-p`, `--set`)
 */
export function parseAssignments(items: readonly string[], option: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const item of items) {
    const equals = item.indexOf('=');
    if (equals < 0) {
      throw new UsageError(`${option} "${item}": expected key=value (a string) or key:=<json>`);
    }
    const isJson = equals > 0 && item[equals - 1] === ':';
    const key = item.slice(0, isJson ? equals - 1 : equals);
    const raw = item.slice(equals + 1);
    if (key === '') throw new UsageError(`${option} "${item}": the key is empty`);
    if (!isJson) {
      result[key] = raw;
      continue;
    }
    try {
      result[key] = JSON.parse(raw);
    } catch {
      throw new UsageError(
        `${option} "${item}": the value after := is not valid JSON (quote strings: ${key}:='"text"', or use ${key}=text)`,
      );
    }
  }
  return result;
}
