import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** Props of {@link DataKey}. */
export interface DataKeyProps {
  /** Name of the stack: the alias is `alias/<stackName>/data`. */
  readonly stackName: string;
  /** Deployment name, for the key's description. */
  readonly deploymentName: string;
  /** Should be the table's: a retained table whose key is gone could never be read again. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The customer-managed KMS key of a deployment's data at rest (`encryption: 'customer-managed'`): the table, every
 * queue and DLQ, and the alarm topic. Rotated yearly, aliased `alias/<stack>/data`. Its key policy keeps CDK's
 * default statement (the account administers the key, and IAM policies may grant its use); the stack grants each
 * role exactly the actions it needs, and adds statements for the services that write to its resources.
 */
export class DataKey extends Key {
  constructor(scope: Construct, id: string, props: DataKeyProps) {
    super(scope, id, {
      description:
        `Serverless Jobs (${props.deploymentName}): encrypts the jobs table, the queues and their ` +
        'dead-letter queues, and the alarm topic',
      alias: `alias/${props.stackName}/data`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      // The shortest wait KMS allows, for the throwaway deployments that delete their key at all.
      pendingWindow: Duration.days(7),
    });
  }
}

/**
 * The encryption props of a queue: under `key` when the deployment has a {@link DataKey}, else SQS-managed (SSE-SQS),
 * which needs no key and no KMS permission from anyone sending to or receiving from the queue.
 */
export function queueEncryption(
  key: IKey | undefined,
): Pick<QueueProps, 'encryption' | 'encryptionMasterKey'> {
  return key === undefined
    ? { encryption: QueueEncryption.SQS_MANAGED }
    : { encryption: QueueEncryption.KMS, encryptionMasterKey: key };
}

/**
 * What SQS calls with the credentials of a producer of a KMS-encrypted queue: GenerateDataKey for a new data key
 * once its reuse period is over, and Decrypt to check it. A consumer needs Decrypt only (CDK's consume grant).
 */
export const queueSendKeyActions = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;
