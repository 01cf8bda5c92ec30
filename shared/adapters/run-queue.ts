/** What every RunQueue adapter (SQS, the local queues) shares. */

/** SQS's longest per-message delay; the local queues keep the same limit. */
export const MAX_DELAY_SECONDS = 900;

/** A worker queue name the deployment does not declare. */
export class UnknownQueueError extends Error {
  readonly queue: string;
  /** @param where what declares the queues, for the message: "deployed", "declared in the local deployment config" */
  constructor(queue: string, known: readonly string[], where = 'deployed') {
    const names = known.length > 0 ? known.map((name) => JSON.stringify(name)).join(', ') : 'none';
    super(`No worker queue named ${JSON.stringify(queue)} is ${where} (known queues: ${names}).`);
    this.name = 'UnknownQueueError';
    this.queue = queue;
  }
}

/** `delaySeconds` within what a queue takes: 0 to MAX_DELAY_SECONDS (0 when not a number). */
export function clampDelaySeconds(delaySeconds: number): number {
  if (Number.isNaN(delaySeconds)) return 0;
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, delaySeconds));
}
