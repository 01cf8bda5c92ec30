/**
 * The baseline of `bench/ingress.ts`: a bare `node:http` server doing what a webhook delivery and its run
 * must do and nothing else — check the hex HMAC of the raw body in constant time, read the path item,
 * write the run, answer 202, then the run's other writes (claim, read the target, finish) — on the same
 * DynamoDB Local, with items of the same size. No framework, no validation, no queue, no logging.
 *
 * `GET /pending` answers how many answered runs have not finished their writes, so the bench can wait for
 * them before the next round, as it waits for the runtime's queue to empty.
 *
 * Environment: PORT, DYNAMODB_ENDPOINT, TABLE_NAME, SECRET. Prints `listening <port>` when ready.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const secret = Buffer.from(env('SECRET'), 'utf8');
const tableName = env('TABLE_NAME');
const client = new DynamoDBClient({
  endpoint: env('DYNAMODB_ENDPOINT'),
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const documents = DynamoDBDocumentClient.from(client);
await client.send(
  new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
  }),
);
const path = { pk: 'WEBHOOK#bare', sk: 'WEBHOOK' };
await documents.send(
  new PutCommand({
    TableName: tableName,
    Item: { ...path, job_doc: 'j'.repeat(700), sealed_secret: 's'.repeat(200) },
  }),
);
await documents.send(
  new PutCommand({ TableName: tableName, Item: { pk: 'ENTITY#echo', sk: 'ENTITY', doc: 'e'.repeat(200) } }),
);

async function run(key: { pk: string; sk: string }): Promise<void> {
  await documents.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: 'SET st = :running',
      ConditionExpression: 'st = :queued',
      ExpressionAttributeValues: { ':running': 'running', ':queued': 'queued' },
    }),
  );
  await documents.send(new GetCommand({ TableName: tableName, Key: { pk: 'ENTITY#echo', sk: 'ENTITY' } }));
  await documents.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key,
      // `out` is a reserved word: named through a placeholder, as the real store names every attribute.
      UpdateExpression: 'SET st = :done, #out = :out',
      ExpressionAttributeNames: { '#out': 'out' },
      ExpressionAttributeValues: { ':done': 'succeeded', ':out': 'o'.repeat(100) },
    }),
  );
}

/** Runs answered with a 202 whose writes have not finished: the bench waits for none to be left. */
let pending = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/pending') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pending }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    void (async () => {
      const body = Buffer.concat(chunks);
      const presented = Buffer.from(
        String(req.headers['x-webhook-signature'] ?? '').replace(/^sha256=/, ''),
        'hex',
      );
      const expected = createHmac('sha256', secret).update(body).digest();
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
        res.writeHead(401).end();
        return;
      }
      await documents.send(new GetCommand({ TableName: tableName, Key: path, ConsistentRead: true }));
      const id = `exec_${Date.now().toString(36)}${randomBytes(10).toString('hex')}`;
      const key = { pk: `RUN#${id.at(-1)}`, sk: `EXEC#${id}` };
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...key, st: 'queued', doc: 'd'.repeat(500) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ execution_id: id, status: 'queued' }));
      // Said aloud: a baseline whose writes fail does less than the runtime it is compared with.
      pending++;
      void run(key)
        .catch((error: unknown) => process.stderr.write(`run failed: ${String(error)}\n`))
        .finally(() => pending--);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
// Exit through process.exit on SIGTERM, so `node --cpu-prof` writes its profile when the bench stops it.
process.on('SIGTERM', () => process.exit(0));
