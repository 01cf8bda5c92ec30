import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { queueSendKeyActions } from './data-key.js';
import type { WorkerQueue } from './worker-queue.js';

/**
 * The worker queues of a deployment as the functions that start, retry or re-enqueue runs see them: any of these
 * functions may route a run to any queue. Queues are added as they are built; {@link urls} fills in as they are.
 */
export class RunQueues {
  private readonly byName = new Map<string, WorkerQueue>();
  /**
   * Every queue's URL by name (`QUEUE_URLS`). The same object fills in as queues are added, so an environment
   * written lazily (see JobsStack) names the queues added after it too.
   */
  public readonly urls: Record<string, string> = {};

  /** @throws Error when a queue of the same name was added before. */
  public add(queue: WorkerQueue): void {
    if (this.byName.has(queue.name)) throw new Error(`Worker queue "${queue.name}" is added twice`);
    this.byName.set(queue.name, queue);
    this.urls[queue.name] = queue.queue.queueUrl;
  }

  /** The queues in the order they were added (`default` first). */
  public values(): WorkerQueue[] {
    return [...this.byName.values()];
  }

  /** The queues by name. */
  public asMap(): ReadonlyMap<string, WorkerQueue> {
    return new Map(this.byName);
  }

  /** Lets `grantee` send runs to every queue: see {@link WorkerQueue.grantEnqueue}. */
  public grantEnqueue(grantee: IGrantable): void {
    for (const queue of this.byName.values()) queue.grantEnqueue(grantee);
  }

  /**
   * Lets `grantee` call SendMessage on every queue, in one statement, and nothing else (SqsRunQueue only calls
   * SendMessage on the URLs of QUEUE_URLS; grantSendMessages' GetQueueAttributes and GetQueueUrl are not needed),
   * with a producer's key actions on the queues under a KMS key.
   */
  public grantSendMessage(grantee: IGrantable): void {
    const queues = this.values().map(({ queue }) => queue);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: queues.map((queue) => queue.queueArn) }),
    );
    for (const queue of queues) queue.encryptionMasterKey?.grant(grantee, ...queueSendKeyActions);
  }
}
