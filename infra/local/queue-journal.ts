import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
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

/**
 * One file per message, `<directory>/<queue>/<message id>.json`, readable by the user only. A new record
 * is written in place: until the write resolves the send has not been acknowledged, so a record cut short
 * by a crash is one nobody was promised (`load` drops it). A record that exists already (a receive count
 * kept at restart) is replaced through a temporary name and a rename, so it is the old one or the new
 * one, never neither. Each file operation is a round trip through libuv's thread pool, so a message
 * costs as few as it can: open, write and close to keep it, one unlink to drop it. Operations on one
 * message run in the order they were asked for, and nothing is written for a message after its removal,
 * so a late receive-count update can never bring a deleted message back.
 */
export class FileQueueJournal implements QueueJournal {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly removed = new Set<string>();
  /** Queue directories made by this process: one mkdir per queue, not per message. */
  private readonly made = new Set<string>();

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
      for (const file of await readdir(join(this.directory, queue))) {
        const path = join(this.directory, queue, file);
        if (file.endsWith('.tmp')) {
          // A write the previous process did not finish renaming: the message it was for is in its own file.
          await rm(path, { force: true });
          continue;
        }
        if (!file.endsWith('.json') || !MESSAGE_ID.test(file.slice(0, -'.json'.length))) continue;
        const parsed = parseRecord(await readFile(path, 'utf8'), queue);
        if (parsed) messages.push(parsed);
        else await rm(path, { force: true });
      }
    }
    return messages.sort((a, b) => a.sentAt - b.sentAt);
  }

  write(message: JournaledMessage): Promise<void> {
    return this.enqueue(message.queue, message.id, async (path) => {
      if (this.removed.has(keyOf(message.queue, message.id))) return;
      if (!this.made.has(message.queue)) {
        await mkdir(join(this.directory, message.queue), { recursive: true, mode: 0o700 });
        this.made.add(message.queue);
      }
      const text = JSON.stringify(message);
      try {
        await writeFile(path, text, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const temporary = `${path}.tmp`;
        await writeFile(temporary, text, { mode: 0o600 });
        await rename(temporary, path);
      }
    });
  }

  remove(queue: string, id: string): Promise<void> {
    this.removed.add(keyOf(queue, id));
    return this.enqueue(queue, id, async (path) => {
      // unlink rather than rm: rm stats the path first, one more round trip for a file known to be a file.
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    });
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }

  private enqueue(queue: string, id: string, operation: (path: string) => Promise<void>): Promise<void> {
    if (!QUEUE_NAME.test(queue) || !MESSAGE_ID.test(id)) {
      return Promise.reject(new Error(`Not a journal key: ${queue}/${id}`));
    }
    const key = keyOf(queue, id);
    const path = join(this.directory, queue, `${id}.json`);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => operation(path));
    const settled = next.catch(() => undefined);
    this.chains.set(key, settled);
    void settled.then(() => {
      if (this.chains.get(key) === settled) {
        this.chains.delete(key);
        this.removed.delete(key);
      }
    });
    return next;
  }
}

function keyOf(queue: string, id: string): string {
  return `${queue}/${id}`;
}

function parseRecord(text: string, queue: string): JournaledMessage | null {
  try {
    const value = JSON.parse(text) as Partial<JournaledMessage>;
    const numbers = [value.sentAt, value.delayUntil, value.receiveCount];
    if (typeof value.id !== 'string' || typeof value.body !== 'string') return null;
    if (!numbers.every((number) => typeof number === 'number' && Number.isFinite(number))) return null;
    return {
      id: value.id,
      queue,
      body: value.body,
      sentAt: value.sentAt as number,
      delayUntil: value.delayUntil as number,
      receiveCount: value.receiveCount as number,
    };
  } catch {
    return null;
  }
}
