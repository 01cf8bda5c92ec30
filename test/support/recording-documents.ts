import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** One Query a store sent, with what DynamoDB answered. */
export interface RecordedQuery {
  input: QueryCommandInput;
  /** Items evaluated (before any filter). */
  scanned: number;
  /** Items returned. */
  returned: number;
}

/**
 * A document client that sends every command to the real one and records each Query and UpdateItem, so a
 * test can see what a store asked of DynamoDB Local. `take()` returns the queries since the last call.
 */
export function recordingDocuments(documents: DynamoDBDocumentClient) {
  let queries: RecordedQuery[] = [];
  let updates: UpdateCommandInput[] = [];
  let itemsGot = 0;
  const client = {
    send: async (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
      if (command instanceof UpdateCommand) updates.push(command.input);
      const output = (await documents.send(command as never)) as {
        Items?: unknown[];
        ScannedCount?: number;
        Responses?: Record<string, unknown[]>;
      };
      if (command instanceof BatchGetCommand) {
        for (const items of Object.values(output.Responses ?? {})) itemsGot += items.length;
      }
      if (command instanceof QueryCommand) {
        queries.push({
          input: command.input,
          scanned: output.ScannedCount ?? 0,
          returned: output.Items?.length ?? 0,
        });
      }
      return output;
    },
  } as unknown as DynamoDBDocumentClient;
  return {
    client,
    /** Items read by key (BatchGetItem) since the last call. */
    itemsGot: (): number => {
      const got = itemsGot;
      itemsGot = 0;
      return got;
    },
    /** The UpdateItem requests sent since the last call, failed ones included. */
    takeUpdates: (): UpdateCommandInput[] => {
      const taken = updates;
      updates = [];
      return taken;
    },
    take: (): RecordedQuery[] => {
      const taken = queries;
      queries = [];
      return taken;
    },
  };
}
