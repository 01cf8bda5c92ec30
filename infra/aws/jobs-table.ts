import { type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  type CfnGlobalTable,
  ProjectionType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { JOBS_TABLE } from '../../shared/adapters/aws/jobs-table.js';

/**
 * DynamoDB actions on the table itself: exactly the calls of the stores (shared/adapters/aws/dynamo-*.ts),
 * which every function builds. TransactWriteItems has no IAM action of its own: each item of a transaction is
 * authorized as the standalone PutItem/UpdateItem/DeleteItem it performs (and a ConditionCheck item as
 * dynamodb:ConditionCheckItem, which the stores do not use). Queries without IndexName run on the table.
 */
const storeActions = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
] as const;

/** DynamoDB actions on the table's indexes (gsi1-4): the stores only query them. */
const indexActions = ['dynamodb:Query'] as const;

/**
 * The item reads and (transactional) item writes that resolve one job and start its run, and nothing that lists:
 * what the webhook and dispatch functions do.
 */
const itemActions = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

/** Props of {@link JobsTable}. */
export interface JobsTableProps {
  /**
   * What happens to the table (and its data) when the stack is deleted or the table replaced.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Encrypts the table; every grant then includes `kms:Decrypt` on it.
   * @default DynamoDB's default encryption, under an AWS owned key (no KMS permission needed)
   */
  readonly encryptionKey?: IKey;
}

/**
 * The single table holding jobs, entities, executions and their lookup items, with point-in-time recovery and
 * TTL on `expires_at`. Its keys and indexes are those of `jobsTableDefinition()` (shared/adapters/aws/
 * jobs-table.ts), the table the local runtime and the integration tests create; test/infra compares the two.
 * Grant with {@link grantStoreAccess} or {@link grantItemAccess}, never `grantReadWriteData` (its Scan, Batch*,
 * DescribeTable and stream actions are calls no store makes).
 */
export class JobsTable extends TableV2 {
  private readonly dataKey: IKey | undefined;

  constructor(scope: Construct, id: string, props: JobsTableProps = {}) {
    const stringKey = (name: string) => ({ name, type: AttributeType.STRING });
    super(scope, id, {
      partitionKey: stringKey('pk'),
      sortKey: stringKey('sk'),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expires_at',
      ...(props.removalPolicy !== undefined && { removalPolicy: props.removalPolicy }),
      // Unset: DynamoDB's default encryption, under an AWS owned key. With a key, see below.
      ...(props.encryptionKey && { encryption: TableEncryptionV2.awsManagedKey() }),
      globalSecondaryIndexes: Object.values(JOBS_TABLE.indexes).map((index) => ({
        indexName: index.name,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        ...(index.projected.length === 0
          ? { projectionType: ProjectionType.KEYS_ONLY }
          : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projected] }),
      })),
    });
    this.dataKey = props.encryptionKey;
    if (props.encryptionKey) {
      // What TableEncryptionV2.customerManagedKey renders (KMS at the table, the key on its one replica), which it
      // refuses to do in a region-agnostic stack, as this one is when synthesized without credentials.
      const cfnTable = this.node.defaultChild as CfnGlobalTable;
      cfnTable.addPropertyOverride('Replicas.0.SSESpecification.KMSMasterKeyId', props.encryptionKey.keyArn);
    }
  }

  /**
   * Lets `grantee` make exactly the DynamoDB calls of the stores: item reads and writes and queries on the table,
   * queries on its indexes (and the table's key, if any).
   */
  public grantStoreAccess(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...storeActions], resources: [this.tableArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...indexActions], resources: [`${this.tableArn}/index/*`] }),
    );
    this.grantKey(grantee);
    // The finding names the table by logical id, so acknowledge exactly that resource, not any "/index/*".
    const tableArn = `<${Stack.of(this).resolve((this.node.defaultChild as CfnGlobalTable).logicalId)}.Arn>`;
    const principal = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${tableArn}/index/*]`,
      reason:
        'Only dynamodb:Query is allowed on "index/*", and only under this one table: it covers the gsi1-4 ' +
        'indexes the stores query (the table has no other index); item reads and writes are on the table ARN.',
    });
  }

  /**
   * Lets `grantee` read and write single items (transactions included) on the table, and nothing that lists
   * (no Query, no index): resolving one job and starting its run.
   */
  public grantItemAccess(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...itemActions], resources: [this.tableArn] }),
    );
    this.grantKey(grantee);
  }

  /**
   * Lets `grantee` use the table's key, if it has one, as DynamoDB does on its behalf: DynamoDB decrypts the
   * table key with the caller's credentials (cached for a few minutes), whatever the item call. The rest of what
   * the documentation lists for a customer-managed key (Encrypt, GenerateDataKey*, CreateGrant, ...) is for the
   * principal creating the table, the deployment's, which the key's default policy (the account) covers.
   */
  private grantKey(grantee: IGrantable): void {
    this.dataKey?.grantDecrypt(grantee);
  }
}
