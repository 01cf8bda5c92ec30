import { decodeCursor, encodeCursor } from '../../shared/adapters/aws/cursor.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { systemClock } from '../../shared/adapters/system.js';
import { AuditTrail } from '../../shared/app/audit-trail.js';
import type { AuditEntry } from '../../shared/domain/audit.js';
import type { ApiKeyStore, AuditLog, AuditPage, Clock, StoredApiKey } from '../../shared/ports.js';
import { RecordingMetrics } from './memory-stores.js';

/** API keys in memory, as DynamoApiKeyStore keeps them; `touches` counts the writes of `last_used_at`. */
export class MemoryApiKeyStore implements ApiKeyStore {
  readonly keys = new Map<string, StoredApiKey>();
  touches = 0;
  lists = 0;

  async list(): Promise<StoredApiKey[]> {
    this.lists++;
    return [...this.keys.values()].sort((a, b) => a.name.localeCompare(b.name)).map((key) => ({ ...key }));
  }

  async create(key: StoredApiKey): Promise<boolean> {
    if (this.keys.has(key.name)) return false;
    this.keys.set(key.name, { ...key });
    return true;
  }

  async delete(name: string): Promise<boolean> {
    return this.keys.delete(name);
  }

  async touch(name: string, at: string, notBefore: string): Promise<void> {
    const key = this.keys.get(name);
    if (!key || (key.lastUsedAt !== null && key.lastUsedAt >= notBefore)) return;
    key.lastUsedAt = at;
    this.touches++;
  }
}

/** The audit trail in memory, newest first per job, paged with the same cursors as DynamoAuditLog. */
export class MemoryAuditLog implements AuditLog {
  readonly entries: { entry: AuditEntry; expiresAt: number; sk: string }[] = [];
  /** When set, `append` throws it. */
  failWith: Error | undefined;

  async append(entry: AuditEntry, expiresAt: number): Promise<void> {
    if (this.failWith) throw this.failWith;
    const sk = `AUDIT#${entry.at}#${this.entries.length.toString(16).padStart(8, '0')}`;
    this.entries.push({ entry, expiresAt, sk });
  }

  async listForJob(jobId: string, page: { limit: number; cursor?: string }): Promise<AuditPage> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor, /^AUDIT#.+$/)[0];
    const mine = this.entries
      .filter(({ entry }) => entry.resource.type === 'job' && entry.resource.id === jobId)
      .sort((a, b) => b.sk.localeCompare(a.sk))
      .filter(({ sk }) => after === undefined || sk < after);
    const shown = mine.slice(0, page.limit);
    const last = shown.at(-1);
    return {
      entries: shown.map(({ entry }) => entry),
      nextCursor: mine.length > page.limit && last ? encodeCursor(last.sk) : null,
    };
  }
}

/** An audit trail over a fresh MemoryAuditLog (its `log`), as the API builds one; kept 30 days. */
export function memoryAuditTrail(clock: Clock = systemClock): AuditTrail & { log: MemoryAuditLog } {
  const log = new MemoryAuditLog();
  const trail = new AuditTrail({
    audit: log,
    clock,
    logger: createLogger({ level: 'silent' }),
    metrics: new RecordingMetrics(),
    retentionDays: 30,
  });
  return Object.assign(trail, { log });
}
