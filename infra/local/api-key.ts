import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateApiKey } from '../../shared/adapters/api-keys.js';

export const API_KEY_FILE = 'api-key';

/**
 * The local deployment's API key, kept in `<dataDir>/api-key` (mode 0600, directory 0700 when we create
 * it) so a restart keeps working with the same key. Generated on first use.
 */
export async function ensureLocalApiKey(dataDir: string): Promise<{ key: string; created: boolean }> {
  const file = join(dataDir, API_KEY_FILE);
  const existing = await readKey(file);
  if (existing) return { key: existing, created: false };

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = generateApiKey();
  try {
    // 'wx' when absent: if two starts race, the loser reads the winner's key instead of replacing it.
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: existing === undefined ? 'wx' : 'w' });
    await chmod(file, 0o600); // `mode` only applies to a new file; an empty one we replace keeps its own
  } catch (error) {
    const raced = (error as NodeJS.ErrnoException).code === 'EEXIST' ? await readKey(file) : undefined;
    if (raced) return { key: raced, created: false };
    throw error;
  }
  return { key, created: true };
}

/** The trimmed key; `''` for an empty file (replaced), `undefined` when there is no file. */
async function readKey(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
