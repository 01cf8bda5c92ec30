import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from './command.js';

/** Where `npm start` serves the API. */
export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** Hosts of a runtime on this machine, whose key `npm start` left in its data dir. */
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The API URL to call: `--url`, else `JOBS_API_URL`, else the local default. Must be http(s). */
export function resolveApiUrl(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const url = flag ?? (env.JOBS_API_URL || DEFAULT_API_URL);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`the API URL "${url}" is not a valid URL (set --url or JOBS_API_URL)`, {
      showUsage: false,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`the API URL "${url}" must start with http:// or https://`, { showUsage: false });
  }
  return url;
}

/** The local runtime's key file: `$JOBS_DATA_DIR/api-key`, `.data/api-key` by default, as `npm start` writes it. */
export function localKeyFile(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  return resolve(cwd, env.JOBS_DATA_DIR || '.data', 'api-key');
}

/**
 * The API key: `--api-key`, else `JOBS_API_KEY`, else, for a URL on this machine, the key file the
 * local runtime wrote. No key at all is a `UsageError` that says how to get one. The key itself never
 * appears in a message.
 */
export async function resolveApiKey(options: {
  flag: string | undefined;
  url: string;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}): Promise<string> {
  const given = options.flag ?? options.env.JOBS_API_KEY;
  if (given) return given;
  if (!LOCAL_HOSTS.has(new URL(options.url).hostname)) {
    throw new UsageError(`no API key for ${options.url}: set JOBS_API_KEY or pass --api-key`, {
      showUsage: false,
    });
  }
  const file = localKeyFile(options.env, options.cwd);
  let key: string;
  try {
    key = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw new UsageError(
        `cannot read the local API key from ${file} (${code ?? (error as Error).message})`,
        { showUsage: false },
      );
    }
    key = '';
  }
  if (key === '') {
    throw new UsageError(
      `no API key: ${file} does not exist. Start the local service with "npm start" (it writes that file), ` +
        'or set JOBS_API_KEY (or pass --api-key); set JOBS_DATA_DIR if the service keeps its data elsewhere',
      { showUsage: false },
    );
  }
  return key;
}

/** How the CLI authenticates: `--auth`, else `JOBS_AUTH`, else `api-key`. */
export function resolveAuth(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): 'api-key' | 'iam' {
  const auth = flag ?? (env.JOBS_AUTH || 'api-key');
  if (auth !== 'api-key' && auth !== 'iam') {
    throw new UsageError(`--auth (or JOBS_AUTH) must be "api-key" or "iam", not "${auth.slice(0, 40)}"`);
  }
  return auth;
}
