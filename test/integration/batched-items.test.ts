import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchedItems, batchedItems } from '../../shared/adapters/aws/batched-items.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

interface Sent {
  name: string;
  /** The `pk` of each key read, in the order asked. */
  keys: string[];
  consistent: boolean;
}

/** The reads a client sends, recorded by a middleware on it (which sees them marshalled). */
function recordReads(documents: DynamoDBDocumentClient): Sent[] {
  const sent: Sent[] = [];
  documents.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        Key?: Record<string, AttributeValue>;
        Item?: Record<string, AttributeValue>;
        ConsistentRead?: boolean;
        RequestItems?: Record<
          string,
          | { Keys: Record<string, AttributeValue>[]; ConsistentRead?: boolean }
          | { PutRequest: { Item: Record<string, AttributeValue> } }[]
        >;
      };
      const batch = Object.values(input.RequestItems ?? {})[0];
      const written = Array.isArray(batch) ? batch.map((request) => request.PutRequest.Item) : undefined;
      const keys = (written ?? (Array.isArray(batch) ? [] : batch?.Keys) ?? [input.Key ?? input.Item])
        .filter((key) => key !== undefined)
        .map((key) => String(unmarshall(key).pk));
      const consistent =
        (batch && !Array.isArray(batch) ? batch.ConsistentRead : input.ConsistentRead) === true;
      sent.push({ name: String(context.commandName).replace(/Command$/, ''), keys, consistent });
      return next(args);
    },
    { step: 'build', name: 'recordReads' },
  );
  return sent;
}

describe('BatchedItems', () => {
  let table: TestTable;
  let sent: Sent[];

  beforeAll(async () => {
    table = await createTestTable('batched');
    const items = Array.from({ length: 150 }, (_, index) => ({ pk: `ITEM#${index}`, sk: 'ITEM', n: index }));
    for (let start = 0; start < items.length; start += 25) {
      await table.documents.send(
        new BatchWriteCommand({
          RequestItems: {
            [table.tableName]: items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      );
    }
    sent = recordReads(table.documents);
  });

  afterAll(async () => {
    await table.drop();
  });

  it('reads alone with one GetItem of the asked consistency when nothing else is in flight', async () => {
    const reads = new BatchedItems(table.documents, table.tableName);
    sent.length = 0;
    expect(await reads.get({ pk: 'ITEM#1', sk: 'ITEM' }, { consistent: true })).toMatchObject({ n: 1 });
    expect(await reads.get({ pk: 'ITEM#2', sk: 'ITEM' }, { consistent: false })).toMatchObject({ n: 2 });
    expect(sent).toEqual([
      { name: 'GetItem', keys: ['ITEM#1'], consistent: true },
      { name: 'GetItem', keys: ['ITEM#2'], consistent: false },
    ]);
  });

  it('sends the reads asked for while one is in flight as one BatchGetItem, each key once', async () => {
    const reads = new BatchedItems(table.documents, table.tableName);
    sent.length = 0;
    const keys = [0, 1, 2, 3, 2, 999].map((n) => ({ pk: `ITEM#${n}`, sk: 'ITEM' }));
    const items = await Promise.all(keys.map((key) => reads.get(key, { consistent: true })));
    expect(items.map((item) => item?.n)).toEqual([0, 1, 2, 3, 2, undefined]);
    expect(sent).toEqual([
      { name: 'GetItem', keys: ['ITEM#0'], consistent: true },
      { name: 'BatchGetItem', keys: ['ITEM#1', 'ITEM#2', 'ITEM#3', 'ITEM#999'], consistent: true },
    ]);
  });

  it('keeps eventually consistent reads apart from consistent ones', async () => {
    const reads = new BatchedItems(table.documents, table.tableName);
    sent.length = 0;
    await Promise.all([
      reads.get({ pk: 'ITEM#10', sk: 'ITEM' }, { consistent: true }),
      reads.get({ pk: 'ITEM#11', sk: 'ITEM' }, { consistent: false }),
      reads.get({ pk: 'ITEM#12', sk: 'ITEM' }, { consistent: false }),
      reads.get({ pk: 'ITEM#13', sk: 'ITEM' }, { consistent: true }),
    ]);
    // Each read went alone (its queue was idle or held only it), with its own consistency.
    expect(sent.map((command) => command.name)).toEqual(['GetItem', 'GetItem', 'GetItem', 'GetItem']);
    const consistency = Object.fromEntries(sent.map((command) => [command.keys[0], command.consistent]));
    expect(consistency).toEqual({ 'ITEM#10': true, 'ITEM#11': false, 'ITEM#12': false, 'ITEM#13': true });
  });

  it('splits more than 100 waiting keys into requests of at most 100', async () => {
    const reads = new BatchedItems(table.documents, table.tableName);
    sent.length = 0;
    const items = await Promise.all(
      Array.from({ length: 150 }, (_, n) => reads.get({ pk: `ITEM#${n}`, sk: 'ITEM' }, { consistent: true })),
    );
    expect(items.map((item) => item?.n)).toEqual(Array.from({ length: 150 }, (_, n) => n));
    expect(sent.map((command) => [command.name, command.keys.length])).toEqual([
      ['GetItem', 1],
      ['BatchGetItem', 100],
      ['BatchGetItem', 49],
    ]);
  });

  it('sees a write that ended before the read was asked for, though a read of the key was in flight', async () => {
    const reads = new BatchedItems(table.documents, table.tableName);
    const key = { pk: 'ITEM#fresh', sk: 'ITEM' };
    await table.documents.send(new PutCommand({ TableName: table.tableName, Item: { ...key, n: 1 } }));
    const first = reads.get(key, { consistent: true });
    await table.documents.send(new PutCommand({ TableName: table.tableName, Item: { ...key, n: 2 } }));
    const second = reads.get(key, { consistent: true });
    expect((await second)?.n).toBe(2);
    expect([1, 2]).toContain((await first)?.n);
  });

  it('fails every read of a request that failed, and reads again afterwards', async () => {
    const reads = new BatchedItems(table.documents, 'no-such-table');
    const failed = await Promise.allSettled([
      reads.get({ pk: 'A', sk: 'A' }, { consistent: true }),
      reads.get({ pk: 'B', sk: 'B' }, { consistent: true }),
      reads.get({ pk: 'C', sk: 'C' }, { consistent: true }),
    ]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const retried = await Promise.allSettled([reads.get({ pk: 'A', sk: 'A' }, { consistent: true })]);
    expect(retried[0]?.status).toBe('rejected');
  });

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    // DynamoDB Local never leaves keys unprocessed: a client answering the first batch in part stands in.
    const answers = [
      {
        Responses: { t: [{ pk: 'A', sk: 'A', n: 1 }] },
        UnprocessedKeys: { t: { Keys: [{ pk: 'B', sk: 'B' }] } },
      },
      { Responses: { t: [{ pk: 'B', sk: 'B', n: 2 }] } },
    ];
    const inputs: unknown[] = [];
    const client = {
      send: async (command: { input: unknown }) => {
        inputs.push(command.input);
        if (inputs.length === 1) return { Item: { pk: 'Z', sk: 'Z', n: 0 } };
        return answers.shift();
      },
    } as unknown as DynamoDBDocumentClient;
    const reads = new BatchedItems(client, 't');
    const items = await Promise.all(
      ['Z', 'A', 'B', 'C'].map((id) => reads.get({ pk: id, sk: id }, { consistent: false })),
    );
    expect(items.map((item) => item?.n)).toEqual([0, 1, 2, undefined]);
    expect(inputs.slice(1)).toEqual([
      { RequestItems: { t: { Keys: ['A', 'B', 'C'].map((id) => ({ pk: id, sk: id })) } } },
      { RequestItems: { t: { Keys: [{ pk: 'B', sk: 'B' }] } } },
    ]);
  });

  it('puts alone with PutItem, and the puts asked for meanwhile as one BatchWriteItem, the later of a key', async () => {
    const items = new BatchedItems(table.documents, table.tableName);
    sent.length = 0;
    await Promise.all([
      items.put({ pk: 'PUT#1', sk: 'PUT', at: 'a' }),
      items.put({ pk: 'PUT#2', sk: 'PUT', at: 'b' }),
      items.put({ pk: 'PUT#3', sk: 'PUT', at: 'c' }),
      items.put({ pk: 'PUT#2', sk: 'PUT', at: 'd' }),
    ]);
    expect(sent).toEqual([
      { name: 'PutItem', keys: ['PUT#1'], consistent: false },
      { name: 'BatchWriteItem', keys: ['PUT#2', 'PUT#3'], consistent: false },
    ]);
    const read = await Promise.all(
      ['PUT#1', 'PUT#2', 'PUT#3'].map((pk) => items.get({ pk, sk: 'PUT' }, { consistent: true })),
    );
    expect(read.map((item) => item?.at)).toEqual(['a', 'd', 'c']);
  });

  it('puts again the items DynamoDB left unprocessed', async () => {
    const inputs: unknown[] = [];
    const answers = [{ UnprocessedItems: { t: [{ PutRequest: { Item: { pk: 'B', sk: 'B' } } }] } }, {}];
    const client = {
      send: async (command: { input: unknown }) => {
        inputs.push(command.input);
        return inputs.length === 1 ? {} : answers.shift();
      },
    } as unknown as DynamoDBDocumentClient;
    const items = new BatchedItems(client, 't');
    await Promise.all(['Z', 'A', 'B'].map((id) => items.put({ pk: id, sk: id })));
    expect(inputs.slice(1)).toEqual([
      {
        RequestItems: {
          t: [{ PutRequest: { Item: { pk: 'A', sk: 'A' } } }, { PutRequest: { Item: { pk: 'B', sk: 'B' } } }],
        },
      },
      { RequestItems: { t: [{ PutRequest: { Item: { pk: 'B', sk: 'B' } } }] } },
    ]);
  });

  it('is one instance per client and table', () => {
    expect(batchedItems(table.documents, table.tableName)).toBe(
      batchedItems(table.documents, table.tableName),
    );
    expect(batchedItems(table.documents, 'other')).not.toBe(batchedItems(table.documents, table.tableName));
  });
});
