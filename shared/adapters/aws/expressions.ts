import type { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';

/** One write of a `TransactWriteItems` request (document client shapes). */
export type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];

/** `SET #a0 = :a0, …` for every attribute given, with the names and values it refers to. */
export function setAll(attributes: Record<string, unknown>, prefix = 'a') {
  const names = Object.keys(attributes);
  return {
    UpdateExpression: `SET ${names.map((_name, index) => `#${prefix}${index} = :${prefix}${index}`).join(', ')}`,
    ExpressionAttributeNames: Object.fromEntries(names.map((name, index) => [`#${prefix}${index}`, name])),
    ExpressionAttributeValues: Object.fromEntries(
      names.map((name, index) => [`:${prefix}${index}`, attributes[name]]),
    ),
  };
}
