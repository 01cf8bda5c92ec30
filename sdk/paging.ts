import { JobError } from './errors.js';

/** Paging of the `iterate*` methods. */
export interface IterateOptions {
  /** Items fetched per request, 1–100. @default 100 */
  pageSize?: number;
}

/**
 * A route's path from its segments, each encoded.
 * @internal Not part of the SDK's public API (not exported by `serverless-jobs/client`).
 */
export const path = (...segments: string[]) => `/${segments.map(encodeURIComponent).join('/')}`;

/**
 * Follows `next_cursor` from page to page, yielding each item. A service answering the same cursor
 * twice would loop for ever; that is reported instead.
 * @internal Not part of the SDK's public API (not exported by `serverless-jobs/client`).
 */
export async function* paginate<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next: string | null }>,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* page.items;
    if (page.next !== null && page.next === cursor) {
      throw new JobError('200 invalid_response: the service answered the same next_cursor twice.', {
        status: 200,
        code: 'invalid_response',
      });
    }
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
}
