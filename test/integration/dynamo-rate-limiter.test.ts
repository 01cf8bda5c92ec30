import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRateLimiter } from '../../shared/adapters/aws/dynamo-rate-limiter.js';
import { keys } from '../../shared/adapters/aws/keys.js';
import { ManualClock } from '../support/memory-stores.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

let table: TestTable;

beforeAll(async () => {
  table = await createTestTable('ratelimit');
});

afterAll(async () => {
  await table?.drop();
});

const START = Date.parse('2026-01-01T00:00:00.000Z');

/** A limiter on the shared table with its own clock, and a fresh key so tests never share state. */
function limiter() {
  const clock = new ManualClock(START);
  return {
    clock,
    limiter: new DynamoRateLimiter(table.documents, table.tableName, clock),
    key: `job_${randomUUID()}`,
  };
}

/** Takes `count` times in a row at the clock's current time; how many were allowed. */
async function takeInARow(
  rateLimiter: DynamoRateLimiter,
  key: string,
  count: number,
  rate: number,
  burst: number,
) {
  let allowed = 0;
  for (let index = 0; index < count; index++) {
    if ((await rateLimiter.take(key, rate, burst)).allowed) allowed++;
  }
  return allowed;
}

describe('DynamoRateLimiter', () => {
  it('allows a burst at one instant, then one request per interval', async () => {
    // Prepare
    const { clock, limiter: rateLimiter, key } = limiter();
    const rate = 2;
    const burst = 3;

    // Act
    const burstAllowed = await takeInARow(rateLimiter, key, 5, rate, burst);
    clock.advance(500);
    const afterOneInterval = await takeInARow(rateLimiter, key, 3, rate, burst);
    clock.advance(1000);
    const afterTwoIntervals = await takeInARow(rateLimiter, key, 4, rate, burst);
    clock.advance(10_000);
    const afterIdle = await takeInARow(rateLimiter, key, 5, rate, burst);

    // Assess
    expect(burstAllowed).toBe(3);
    expect(afterOneInterval).toBe(1);
    expect(afterTwoIntervals).toBe(2);
    // Idle time refills the burst and no more: unused time is not banked beyond it.
    expect(afterIdle).toBe(3);
  });

  it('keeps each key’s allowance apart', async () => {
    // Prepare
    const { limiter: rateLimiter, key } = limiter();
    const other = `job_${randomUUID()}`;

    // Act
    const first = await takeInARow(rateLimiter, key, 3, 1, 2);
    const second = await takeInARow(rateLimiter, other, 3, 1, 2);

    // Assess
    expect(first).toBe(2);
    expect(second).toBe(2);
  });

  it('answers retryAfterSeconds after which a request is allowed again', async () => {
    // Prepare
    const { clock, limiter: rateLimiter, key } = limiter();

    // Act
    const first = await rateLimiter.take(key, 0.1, 1);
    const refused = await rateLimiter.take(key, 0.1, 1);
    const wait = refused.allowed ? 0 : refused.retryAfterSeconds;
    clock.advance(wait * 1000);
    const afterWaiting = await rateLimiter.take(key, 0.1, 1);
    const fast = limiter();
    await takeInARow(fast.limiter, fast.key, 2, 1, 2);
    const fastRefused = await fast.limiter.take(fast.key, 1, 2);

    // Assess
    expect(first.allowed).toBe(true);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 10 });
    expect(afterWaiting.allowed).toBe(true);
    expect(fastRefused).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  // Fails against the current limiter: it allows while TAT − now < burst / rate, i.e. one request
  // more than the burst as soon as any time has passed (GCRA allows while TAT − now ≤ (burst − 1) / rate).
  it('refuses a request made shortly after the burst, until a full interval has passed', async () => {
    // Prepare
    const { clock, limiter: rateLimiter, key } = limiter();
    const burstAllowed = await takeInARow(rateLimiter, key, 2, 1, 2);
    const refused = await rateLimiter.take(key, 1, 2);

    // Act
    clock.advance(100);
    const shortlyAfter = await rateLimiter.take(key, 1, 2);
    clock.advance(899);
    const justBeforeInterval = await rateLimiter.take(key, 1, 2);
    clock.advance(1);
    const atInterval = await rateLimiter.take(key, 1, 2);

    // Assess
    expect(burstAllowed).toBe(2);
    expect(refused.allowed).toBe(false);
    expect(shortlyAfter.allowed).toBe(false);
    expect(justBeforeInterval.allowed).toBe(false);
    expect(atInterval.allowed).toBe(true);
  });

  it('never lets concurrent takers exceed the allowance, and the stored state counts exactly the allowed ones', async () => {
    // Prepare
    const { limiter: rateLimiter, key } = limiter();
    const rate = 1;
    const burst = 5;

    // Act
    const concurrent = await Promise.all(
      Array.from({ length: 16 }, () => rateLimiter.take(key, rate, burst)),
    );
    const concurrentAllowed = concurrent.filter((result) => result.allowed).length;
    const sequentialAllowed = await takeInARow(rateLimiter, key, 8, rate, burst);
    const { Item: item } = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: keys.webhookRate(key), ConsistentRead: true }),
    );

    // Assess
    expect(concurrentAllowed).toBeGreaterThanOrEqual(1);
    expect(concurrentAllowed).toBeLessThanOrEqual(burst);
    // Whatever the races did, the instant's allowance is used up exactly, never overdrawn.
    expect(concurrentAllowed + sequentialAllowed).toBe(burst);
    expect(item?.tat).toBe(START + burst * 1000);
    for (const result of concurrent) {
      if (!result.allowed) expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
  });
});
