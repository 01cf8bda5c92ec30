import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

/**
 * How much one list request may read: at most `items` items evaluated (counted before any filter) in
 * at most `queries` Query calls, each of which DynamoDB stops at 1 MB. A request that reaches either
 * answers what it has, with a cursor to continue, rather than reading on.
 */
export interface ReadCeiling {
  items: number;
  queries: number;
}

/**
 * Enough for the deepest history page (an offset of 1,000 skipped as keys, then 101 items) in one
 * request, and at most about 16 MB read by DynamoDB whatever the items weigh.
 */
export const DEFAULT_READ_CEILING: ReadCeiling = { items: 1_200, queries: 16 };

/** What `BoundedReader.read` got. */
export interface BoundedRead {
  items: Record<string, unknown>[];
  /**
   * Where to continue: the last key evaluated, or the start key when nothing more could be read.
   * Undefined when the query is exhausted (`complete`) or nothing was evaluated from its start.
   */
  lastEvaluatedKey: Record<string, unknown> | undefined;
  /** The query has no more items after those read. */
  complete: boolean;
}

/** Runs the Query calls of one request against one `ReadCeiling`, shared by every read it makes. */
export class BoundedReader {
  private itemsRead = 0;
  private queries = 0;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly ceiling: ReadCeiling = DEFAULT_READ_CEILING,
  ) {}

  /** The ceiling is reached: further reads return nothing. */
  get spent(): boolean {
    return this.itemsRead >= this.ceiling.items || this.queries >= this.ceiling.queries;
  }

  /**
   * Reads pages of `input` (from its `ExclusiveStartKey`) until at least `wanted` items are returned,
   * the query is exhausted, or the ceiling is reached. Each page asks for `pageSize` items (default: the
   * number still wanted), never more than the ceiling has left; with a filter, a page may return fewer
   * than it evaluated, and the last page may return more than wanted.
   */
  async read(input: QueryCommandInput, wanted: number, pageSize?: number): Promise<BoundedRead> {
    const items: Record<string, unknown>[] = [];
    let startKey = input.ExclusiveStartKey;
    while (items.length < wanted && !this.spent) {
      const limit = Math.min(pageSize ?? wanted - items.length, this.ceiling.items - this.itemsRead);
      const page = await this.client.send(
        new QueryCommand({ ...input, Limit: limit, ExclusiveStartKey: startKey }),
      );
      this.queries++;
      this.itemsRead += page.ScannedCount ?? page.Items?.length ?? 0;
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
      if (startKey === undefined) return { items, lastEvaluatedKey: undefined, complete: true };
    }
    return { items, lastEvaluatedKey: startKey, complete: false };
  }
}
