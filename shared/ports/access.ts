import type { Scope } from '../domain/access.js';
import type { AuditEntry } from '../domain/audit.js';

/** Access ports: the API keys created through the API, and the audit trail. */
/** The key a presented API key matched: its name and what it may do. */
export interface ApiKeyMatch {
  name: string;
  scope: Scope;
}

/** A stored API key: its hash (hex SHA-256 of the key), never the key. */
export interface StoredApiKey {
  name: string;
  scope: Scope;
  keyHash: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** The API keys created through the API (the deployment's own key is not among them). */
export interface ApiKeyStore {
  /** Every stored key, in name order. */
  list(): Promise<StoredApiKey[]>;
  /** False when a key of that name exists. */
  create(key: StoredApiKey): Promise<boolean>;
  /** False when there is no key of that name. */
  delete(name: string): Promise<boolean>;
  /** Records a use at `at`, unless the key is gone or a use at or after `notBefore` is recorded already. */
  touch(name: string, at: string, notBefore: string): Promise<void>;
}

/** A page of audit entries, newest first. */
export interface AuditPage {
  entries: AuditEntry[];
  nextCursor: string | null;
}

/** Where the audit trail is kept. */
export interface AuditLog {
  /** Keeps `entry` until `expiresAt` (epoch seconds). */
  append(entry: AuditEntry, expiresAt: number): Promise<void>;
  /** A job's entries, newest first, read within a bounded number of items. */
  listForJob(jobId: string, page: { limit: number; cursor?: string }): Promise<AuditPage>;
}
