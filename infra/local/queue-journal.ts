import {
  appendFile,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

/** A queue message as the journal keeps it. Times are epoch milliseconds. */
export interface JournaledMessage {
  id: string;
  queue: string;
  /** The message body, exactly as sent. */
  body: string;
  sentAt: number;
  /** When a delayed send becomes visible (its `delaySeconds`); a receive's visibility is not kept. */
  delayUntil: number;
  receiveCount: number;
}

/**
 * Where the local queues keep their messages so that none is lost when the process stops or dies: a
 * message is written before `send` returns and removed once its handler succeeded (or it moved to the
 * dead-letter list). SQS is this journal on AWS.
 */
export interface QueueJournal {
  /** Every message kept, oldest send first. */
  load(): Promise<JournaledMessage[]>;
  /** Creates or replaces the message's record; resolves once it is on disk. */
  write(message: JournaledMessage): Promise<void>;
  remove(queue: string, id: string): Promise<void>;
  /** Resolves once every write and remove started so far has finished. */
  flush(): Promise<void>;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MESSAGE_ID = /^[0-9a-f-]{36}$/;
/** Each queue's log, in the queue's directory. */
export const JOURNAL_LOG = 'journal.log';
/** A log is rewritten with only its live messages once it holds this many records and mostly dead ones. */
const COMPACT_AFTER_RECORDS = 1_000;

/** One line of a log: a message's latest record, or its removal. */
type LogRecord = Omit<JournaledMessage, 'queue'> | { id: string; removed: true };

interface QueueLog {
  directory: string;
  path: string;
  handle: FileHandle | null;
  /** What the log holds for each message not removed: what compaction rewrites. */
  live: Map<string, JournaledMessage>;
  /** Removed since the log was last compacted: a late write for one of them is not written. */
  removed: Set<string>;
  /** Lines in the file, records and removals. */
  records: number;
  /** Lines asked for since the write in flight started: the next write takes all of them at once. */
  pending: { line: string; done: () => void; failed: (error: unknown) => void }[];
  writing: Promise<void> | null;
}

/**
 * One append-only log per queue, `<directory>/<queue>/journal.log` (readable by the user only): a send
 * appends the message's record, a delete appends its removal, and the latest line of a message wins.
 * Sends made while a write is in flight are appended together by the next one (a group commit), so a
 * busy queue costs one write per batch, not a file created and unlinked per message. `write` resolves
 * once its line is written; until then the send has not been acknowledged, so a line cut short by a
 * crash is one nobody was promised (`load` skips it, and every batch starts on a new line). Once most of
 * a long log is removals, it is rewritten with only its live messages through a temporary file and a
 * rename, so it is the old log or the new one, never neither. Messages journaled by earlier versions,
 * one file each (`<queue>/<id>.json`), are read by `load` and moved into the log.
 */
export class FileQueueJournal implements QueueJournal {
  private readonly logs = new Map<string, QueueLog>();

  constructor(private readonly directory: string) {}

  async load(): Promise<JournaledMessage[]> {
    const messages: JournaledMessage[] = [];
    let queues: string[];
    try {
      queues = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    for (const queue of queues.filter((name) => QUEUE_NAME.test(name))) {
      const log = this.log(queue);
      const text = await readFile(log.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      log.live.clear();
      log.records = 0;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        log.records++;
        const record = parseRecord(line);
        if (!record) continue;
        if ('removed' in record) {
          log.live.delete(record.id);
          log.removed.add(record.id);
        } else if (!log.removed.has(record.id)) {
          log.live.set(record.id, { ...record, queue });
        }
      }
      await this.moveLegacyFiles(log, queue);
      messages.push(...log.live.values());
    }
    return messages.sort((a, b) => a.sentAt - b.sentAt);
  }

  write(message: JournaledMessage): Promise<void> {
    if (!QUEUE_NAME.test(message.queue) || !MESSAGE_ID.test(message.id)) {
      return Promise.reject(new Error(`Not a journal key: ${message.queue}/${message.id}`));
    }
    const log = this.log(message.queue);
    // Never brought back once removed: a late receive-count update must not revive a deleted message.
    if (log.removed.has(message.id)) return Promise.resolve();
    log.live.set(message.id, message);
    const { queue: _queue, ...record } = message;
    return this.append(log, JSON.stringify(record satisfies LogRecord)).catch((error: unknown) => {
      // Not written, so not sent: a later compaction must not write it either.
      if (log.live.get(message.id) === message) log.live.delete(message.id);
      throw error;
    });
  }

  remove(queue: string, id: string): Promise<void> {
    if (!QUEUE_NAME.test(queue) || !MESSAGE_ID.test(id)) {
      return Promise.reject(new Error(`Not a journal key: ${queue}/${id}`));
    }
    const log = this.log(queue);
    log.live.delete(id);
    log.removed.add(id);
    return this.append(log, JSON.stringify({ id, removed: true } satisfies LogRecord));
  }

  /** Also closes the logs it holds open (a later write opens its log again). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.logs.values()].map((log) => log.writing));
    for (const log of this.logs.values()) {
      // A write that started meanwhile keeps its log open; the next flush closes it.
      if (log.writing || !log.handle) continue;
      const { handle } = log;
      log.handle = null;
      await handle.close();
    }
  }

  private log(queue: string): QueueLog {
    let log = this.logs.get(queue);
    if (!log) {
      const directory = join(this.directory, queue);
      log = {
        directory,
        path: join(directory, JOURNAL_LOG),
        handle: null,
        live: new Map(),
        removed: new Set(),
        records: 0,
        pending: [],
        writing: null,
      };
      this.logs.set(queue, log);
    }
    return log;
  }

  private append(log: QueueLog, line: string): Promise<void> {
    return new Promise<void>((done, failed) => {
      log.pending.push({ line, done, failed });
      log.writing ??= this.drain(log);
    });
  }

  /** Writes what is pending, one batch per write, until nothing is; compacts the log when it is worth it. */
  private async drain(log: QueueLog): Promise<void> {
    try {
      while (log.pending.length > 0) {
        const batch = log.pending.splice(0);
        try {
          const handle = await this.open(log);
          // A leading newline: a batch cut short by a crash or a failed write never runs into the next one.
          await handle.write(`\n${batch.map((entry) => entry.line).join('\n')}`);
          log.records += batch.length;
          for (const entry of batch) entry.done();
        } catch (error) {
          for (const entry of batch) entry.failed(error);
          continue;
        }
        await this.compactIfWorthIt(log).catch(() => {
          // The log stays as it is, whole: compaction is tried again after a later write.
        });
      }
    } finally {
      // In the same step as the loop's last look at `pending` (no await between), so no line is left behind.
      log.writing = null;
    }
  }

  private async open(log: QueueLog): Promise<FileHandle> {
    if (log.handle) return log.handle;
    await mkdir(log.directory, { recursive: true, mode: 0o700 });
    log.handle = await open(log.path, 'a', 0o600);
    return log.handle;
  }

  private async compactIfWorthIt(log: QueueLog): Promise<void> {
    if (log.records < COMPACT_AFTER_RECORDS || log.live.size * 4 > log.records) return;
    const handle = await this.open(log);
    if (log.live.size === 0) {
      // Every message is done with: emptying the log is one call.
      await handle.truncate(0);
    } else {
      const temporary = `${log.path}.tmp`;
      const lines = [...log.live.values()].map(({ queue: _queue, ...record }) => JSON.stringify(record));
      await writeFile(temporary, `\n${lines.join('\n')}`, { mode: 0o600 });
      await rename(temporary, log.path);
      log.handle = null;
      await handle.close();
    }
    log.records = log.live.size;
    log.removed.clear();
  }

  /** Messages an earlier version journaled one file each: appended to the log, then their files removed. */
  private async moveLegacyFiles(log: QueueLog, queue: string): Promise<void> {
    const moved: string[] = [];
    const lines: string[] = [];
    for (const file of await readdir(log.directory)) {
      const path = join(log.directory, file);
      if (file.endsWith('.json.tmp')) {
        // A replacement the earlier version did not finish renaming: its message is in its own file.
        moved.push(path);
        continue;
      }
      if (!file.endsWith('.json') || !MESSAGE_ID.test(file.slice(0, -'.json'.length))) continue;
      moved.push(path);
      const record = parseRecord(await readFile(path, 'utf8'));
      if (!record || 'removed' in record || log.removed.has(record.id)) continue;
      log.live.set(record.id, { ...record, queue });
      lines.push(JSON.stringify(record));
    }
    if (lines.length > 0) {
      await appendFile(log.path, `\n${lines.join('\n')}`, { mode: 0o600 });
      log.records += lines.length;
    }
    for (const path of moved) await rm(path, { force: true });
  }
}

function parseRecord(text: string): LogRecord | null {
  try {
    const value = JSON.parse(text) as Partial<JournaledMessage> & { removed?: unknown };
    if (typeof value.id !== 'string' || !MESSAGE_ID.test(value.id)) return null;
    if (value.removed === true) return { id: value.id, removed: true };
    const numbers = [value.sentAt, value.delayUntil, value.receiveCount];
    if (typeof value.body !== 'string') return null;
    if (!numbers.every((number) => typeof number === 'number' && Number.isFinite(number))) return null;
    return {
      id: value.id,
      body: value.body,
      sentAt: value.sentAt as number,
      delayUntil: value.delayUntil as number,
      receiveCount: value.receiveCount as number,
    };
  } catch {
    return null;
  }
}
