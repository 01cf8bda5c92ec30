import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock, IdGenerator } from '../ports.js';

export const systemClock: Clock = { now: () => new Date() };

export const randomIds: IdGenerator = {
  jobId: () => `job_${randomUUID()}`,
  entityId: () => `ent_${randomUUID()}`,
  // Milliseconds in fixed-width base 36 first, so ids sort by creation time; 80 random bits after.
  executionId: () => `exec_${Date.now().toString(36).padStart(9, '0')}${randomBytes(10).toString('hex')}`,
};
