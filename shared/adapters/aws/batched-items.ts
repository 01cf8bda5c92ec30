import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';

/** A key of the jobs table. */
export interface TableKey {
  pk: string;
  sk: string;
}

type Item = Record<string, unknown>;

/** Retries of keys DynamoDB left unprocessed (it was throttled or the answer was too large), with backoff. */
const MAX_UNPROCESSED_RETRIES = 8;
const backoffMs = (attempt: number) => Math.min(1_000, 25 * 2 ** attempt);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const idOf = (key: { pk?: unknown; sk?: unknown }) => `${String(key.pk)}\u0000${String(key.sk)}`;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Requests of one kind sent together: while one is in flight, those asked for meanwhile wait, and then go
 * as one (up to `maxSize` distinct keys; a key asked for twice goes once). Each so starts after it was
 * asked for, which one joining a request already in flight would not: a consistent read still sees every
 * write that ended before it was asked for. Nothing waits when nothing is in flight, so a lone request goes
 * at once; under load, forty runs' reads are one request instead of forty, and a request costs DynamoDB
 * (Local most of all) and the SDK far more than an item in it. DynamoDB bills the items, the same either way.
 */
class Batches<Entry, Result> {
  private readonly waiting = new Map<string, { entry: Entry; waiters: Waiter<Result>[] }>();
  private inFlight = false;

  constructor(
    private readonly maxSize: number,
    /** Sends a batch, calling `settle` for each key as its result comes; keys left unsettled fail. */
    private readonly send: (
      batch: ReadonlyMap<string, Entry>,
      settle: (id: string, result: Result) => void,
    ) => Promise<void>,
  ) {}

  /** Queues `entry` under `id`; a later entry under a waiting id replaces it (its waiters get one result). */
  add(id: string, entry: Entry): Promise<Result> {
    return new Promise((resolve, reject) => {
      const waiting = this.waiting.get(id);
      if (waiting) {
        waiting.entry = entry;
        waiting.waiters.push({ resolve, reject });
      } else this.waiting.set(id, { entry, waiters: [{ resolve, reject }] });
      this.next();
    });
  }

  private next(): void {
    if (this.inFlight || this.waiting.size === 0) return;
    const batch = new Map<string, { entry: Entry; waiters: Waiter<Result>[] }>();
    for (const [id, waiting] of this.waiting) {
      if (batch.size === this.maxSize) break;
      batch.set(id, waiting);
      this.waiting.delete(id);
    }
    this.inFlight = true;
    const entries = new Map([...batch].map(([id, waiting]) => [id, waiting.entry]));
    const settle = (id: string, result: Result) => {
      for (const waiter of batch.get(id)?.waiters ?? []) waiter.resolve(result);
      batch.delete(id);
    };
    void this.send(entries, settle)
      .then(() => {
        if (batch.size > 0) throw new Error(`${batch.size} requests of a batch got no answer.`);
      })
      .catch((error: unknown) => {
        for (const waiting of batch.values()) for (const waiter of waiting.waiters) waiter.reject(error);
      })
      .finally(() => {
        this.inFlight = false;
        this.next();
      });
  }
}

/**
 * Point reads and unconditional puts of one table, each sent in batches (see `Batches`): reads of one
 * consistency as one BatchGetItem (GetItem when alone), puts as one BatchWriteItem (PutItem when alone).
 */
export class BatchedItems {
  private readonly consistentReads: Batches<TableKey, Item | undefined>;
  private readonly eventualReads: Batches<TableKey, Item | undefined>;
  private readonly puts: Batches<Item, undefined>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.consistentReads = new Batches(100, (batch, settle) => this.read(batch, settle, true));
    this.eventualReads = new Batches(100, (batch, settle) => this.read(batch, settle, false));
    this.puts = new Batches(25, (batch, settle) => this.write(batch, settle));
  }

  /** The item at `key`, or undefined; `consistent` as GetItem's `ConsistentRead`. */
  get(key: TableKey, options: { consistent: boolean }): Promise<Item | undefined> {
    const reads = options.consistent ? this.consistentReads : this.eventualReads;
    return reads.add(idOf(key), { pk: key.pk, sk: key.sk });
  }

  /**
   * Writes `item` whole, with no condition. Of two puts of one key waiting together, the later is written;
   * puts sent in different batches land in the order sent.
   */
  put(item: Item & TableKey): Promise<void> {
    return this.puts.add(idOf(item), item);
  }

  private async read(
    batch: ReadonlyMap<string, TableKey>,
    settle: (id: string, item: Item | undefined) => void,
    consistent: boolean,
  ): Promise<void> {
    const consistency = consistent ? { ConsistentRead: true } : {};
    if (batch.size === 1) {
      const [[id, key]] = [...batch] as [[string, TableKey]];
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: key, ...consistency }),
      );
      settle(id, Item);
      return;
    }
    let keys = [...batch.values()];
    for (let attempt = 0; ; attempt++) {
      const result = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ...consistency } } }),
      );
      for (const item of result.Responses?.[this.tableName] ?? []) settle(idOf(item), item);
      const unprocessed = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as TableKey[];
      const left = new Set(unprocessed.map(idOf));
      // A key neither answered nor left unprocessed has no item.
      for (const key of keys) if (!left.has(idOf(key))) settle(idOf(key), undefined);
      if (unprocessed.length === 0) return;
      if (attempt === MAX_UNPROCESSED_RETRIES)
        throw new Error(`DynamoDB left ${unprocessed.length} keys unread after ${attempt} retries.`);
      keys = unprocessed;
      await pause(backoffMs(attempt));
    }
  }

  private async write(
    batch: ReadonlyMap<string, Item>,
    settle: (id: string, result: undefined) => void,
  ): Promise<void> {
    if (batch.size === 1) {
      const [[id, item]] = [...batch] as [[string, Item]];
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
      settle(id, undefined);
      return;
    }
    let requests = [...batch.values()].map((item) => ({ PutRequest: { Item: item } }));
    for (let attempt = 0; ; attempt++) {
      const result = await this.client.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
      );
      const unprocessed = (result.UnprocessedItems?.[this.tableName] ?? []).filter(
        (request): request is { PutRequest: { Item: Item } } => request.PutRequest?.Item !== undefined,
      );
      const left = new Set(unprocessed.map((request) => idOf(request.PutRequest.Item)));
      for (const request of requests) {
        const id = idOf(request.PutRequest.Item);
        if (!left.has(id)) settle(id, undefined);
      }
      if (unprocessed.length === 0) return;
      if (attempt === MAX_UNPROCESSED_RETRIES)
        throw new Error(`DynamoDB left ${unprocessed.length} items unwritten after ${attempt} retries.`);
      requests = unprocessed;
      await pause(backoffMs(attempt));
    }
  }
}

const shared = new WeakMap<DynamoDBDocumentClient, Map<string, BatchedItems>>();

/** The one `BatchedItems` of a client and table, so that the requests of every store on them go together. */
export function batchedItems(client: DynamoDBDocumentClient, tableName: string): BatchedItems {
  let byTable = shared.get(client);
  if (!byTable) {
    byTable = new Map();
    shared.set(client, byTable);
  }
  let items = byTable.get(tableName);
  if (!items) {
    items = new BatchedItems(client, tableName);
    byTable.set(tableName, items);
  }
  return items;
}
