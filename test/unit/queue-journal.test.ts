import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileQueueJournal, JOURNAL_LOG, type JournaledMessage } from '../../infra/local/queue-journal.js';

const message = (sentAt: number, queue = 'default'): JournaledMessage => ({
  id: randomUUID(),
  queue,
  body: JSON.stringify({ job_id: 'job_1', execution_id: `exec_${sentAt}`, attempt: 1 }),
  sentAt,
  delayUntil: sentAt,
  receiveCount: 0,
});

describe('FileQueueJournal', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'journal-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('keeps every message of concurrent sends, drops removed ones for good, and loads them in send order', async () => {
    // Prepare
    const journal = new FileQueueJournal(directory);
    const sent = Array.from({ length: 50 }, (_unused, index) => message(1_000 + index));

    // Act: sends in flight together (written in batches), then every other one removed, then a late
    // write of a removed one.
    await Promise.all([...sent].reverse().map((each) => journal.write(each)));
    await Promise.all(
      sent.filter((_each, index) => index % 2 === 0).map((each) => journal.remove(each.queue, each.id)),
    );
    await journal.write({ ...(sent[0] as JournaledMessage), receiveCount: 1 });
    await journal.flush();

    // Assess
    const loaded = await new FileQueueJournal(directory).load();
    expect(loaded).toEqual(sent.filter((_each, index) => index % 2 === 1));
    expect(await readdir(join(directory, 'default'))).toEqual([JOURNAL_LOG]);
    expect((await stat(join(directory, 'default', JOURNAL_LOG))).mode & 0o777).toBe(0o600);
  });

  it('keeps the latest record of a message (a receive count written at restart)', async () => {
    // Prepare
    const journal = new FileQueueJournal(directory);
    const first = message(1_000);
    await journal.write(first);

    // Act
    const restarted = new FileQueueJournal(directory);
    const [loaded] = await restarted.load();
    await restarted.write({ ...(loaded as JournaledMessage), receiveCount: 1 });
    await restarted.flush();

    // Assess
    expect(await new FileQueueJournal(directory).load()).toEqual([{ ...first, receiveCount: 1 }]);
  });

  it('skips a line cut short by a crash, and what is written after it still loads', async () => {
    // Prepare: a record half written when the process died.
    const journal = new FileQueueJournal(directory);
    const kept = message(1_000);
    await journal.write(kept);
    await journal.flush();
    await appendFile(join(directory, 'default', JOURNAL_LOG), '\n{"id":"0b9a3d2e-6a55-4b0c-9d3e-');

    // Act
    const restarted = new FileQueueJournal(directory);
    const afterCrash = await restarted.load();
    const next = message(2_000);
    await restarted.write(next);
    await restarted.flush();

    // Assess
    expect(afterCrash).toEqual([kept]);
    expect(await new FileQueueJournal(directory).load()).toEqual([kept, next]);
  });

  it('rewrites a long log of mostly finished messages with only the live ones', async () => {
    // Prepare
    const journal = new FileQueueJournal(directory);
    const live = [message(1), message(2)];
    for (const each of live) await journal.write(each);

    // Act: 600 messages sent and finished (1,200 lines), in batches as a busy queue writes them.
    for (let round = 0; round < 6; round++) {
      const done = Array.from({ length: 100 }, (_unused, index) => message(10 + round * 100 + index));
      await Promise.all(done.map((each) => journal.write(each)));
      await Promise.all(done.map((each) => journal.remove(each.queue, each.id)));
    }
    await journal.flush();

    // Assess: far fewer lines than were written, and exactly the live messages.
    const log = join(directory, 'default', JOURNAL_LOG);
    const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    expect(lines.length).toBeLessThan(1_000);
    expect(await new FileQueueJournal(directory).load()).toEqual(live);
    expect((await stat(log)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(directory, 'default'))).toEqual([JOURNAL_LOG]);
  });

  it('moves messages journaled one file each by an earlier version into the log', async () => {
    // Prepare: the earlier layout, `<queue>/<id>.json`, and a replacement it never renamed.
    const old = message(1_000, 'reports');
    await mkdir(join(directory, 'reports'), { recursive: true });
    await writeFile(join(directory, 'reports', `${old.id}.json`), JSON.stringify(old));
    await writeFile(join(directory, 'reports', `${old.id}.json.tmp`), '{"id":');

    // Act
    const journal = new FileQueueJournal(directory);
    const loaded = await journal.load();
    await journal.remove('reports', old.id);
    await journal.flush();

    // Assess
    expect(loaded).toEqual([old]);
    expect(await readdir(join(directory, 'reports'))).toEqual([JOURNAL_LOG]);
    expect(await new FileQueueJournal(directory).load()).toEqual([]);
  });

  it('refuses names that are not queue names or message ids', async () => {
    const journal = new FileQueueJournal(directory);
    await expect(journal.write({ ...message(1), queue: '../up' })).rejects.toThrow('Not a journal key');
    await expect(journal.remove('default', 'not-an-id')).rejects.toThrow('Not a journal key');
  });
});
