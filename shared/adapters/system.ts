import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock, IdGenerator } from '../ports.js';

export const systemClock: Clock = { now: () => new Date() };

/** The run partition the next execution id of this process goes to (see `executionId`). */
let nextShard = randomBytes(1)[0] ?? 0;

export const randomIds: IdGenerator = {
  jobId: () => `job_${randomUUID()}`,
  entityId: () => `ent_${randomUUID()}`,
  // Milliseconds in fixed-width base 36 first, so ids sort by creation time; 76 random bits after, and a
  // last hex digit that takes turns, so a process spreads its runs evenly over the 16 run partitions
  // (the partition of a run is its id's last digit).
  executionId: () =>
    `exec_${Date.now().toString(36).padStart(9, '0')}${randomBytes(10).toString('hex').slice(0, 19)}${(nextShard++ % 16).toString(16)}`,
};
