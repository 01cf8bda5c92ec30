import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { jobsTableDefinition } from '../../shared/adapters/aws/jobs-table.js';
import {
  buildApp,
  constructFixture,
  hasTableStatements,
  logicalIdOf,
  onlyLogicalId,
  propertiesOf,
  removeOutdirs,
  roleIdOf,
  roleStatements,
} from './support.js';

afterAll(removeOutdirs);

describe('JobsTable in the dev deployment', () => {
  const { stack } = buildApp('dev');
  const template = Template.fromStack(stack);
  const tableId = onlyLogicalId(template, 'AWS::DynamoDB::GlobalTable');

  it('is on-demand, with point-in-time recovery, TTL on expires_at and retained', () => {
    // Assess
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
        Replicas: [
          Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        ],
      }),
    });
  });

  it('has the keys and indexes of the table the app creates locally', () => {
    // Prepare
    const local = jobsTableDefinition('any');
    const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
      String(a.AttributeName).localeCompare(String(b.AttributeName));
    const table = propertiesOf(template, 'AWS::DynamoDB::GlobalTable', tableId);

    // Assess
    expect(table.KeySchema).toEqual(local.KeySchema);
    expect([...(table.AttributeDefinitions as { AttributeName: string }[])].sort(byName)).toEqual(
      [...(local.AttributeDefinitions ?? [])].sort(byName),
    );
    expect(table.GlobalSecondaryIndexes).toEqual(local.GlobalSecondaryIndexes);
    expect((local.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName)).toEqual([
      'gsi1',
      'gsi2',
      'gsi3',
      'gsi4',
      'gsi5',
    ]);
    // List indexes carry only what lists read; the history and failure indexes only keys.
    expect((local.GlobalSecondaryIndexes ?? []).map((index) => index.Projection)).toEqual([
      { ProjectionType: 'INCLUDE', NonKeyAttributes: ['doc', 'enabled', 'version'] },
      { ProjectionType: 'INCLUDE', NonKeyAttributes: ['doc', 'enabled', 'version'] },
      { ProjectionType: 'INCLUDE', NonKeyAttributes: ['doc', 'enabled', 'version'] },
      { ProjectionType: 'KEYS_ONLY' },
      { ProjectionType: 'KEYS_ONLY' },
    ]);
  });
});

describe('JobsTable in a stack of its own', () => {
  it("grants the stores' access (item calls and queries on the table, queries only on its indexes)", () => {
    // Prepare
    const fixture = constructFixture();
    const fn = fixture.addQueue().worker;

    // Act
    const template = Template.fromStack(fixture.stack);

    // Assess: the worker queue grants it; separate statements, so no item action reaches the indexes.
    hasTableStatements(
      template,
      logicalIdOf(fixture.stack, fixture.table),
      roleIdOf(template, logicalIdOf(fixture.stack, fn)),
    );
  });

  it('grants item access without Query and without the indexes', () => {
    // Prepare
    const fixture = constructFixture();
    const cron = fixture.addCron();

    // Act: dispatch gets item access.
    const template = Template.fromStack(fixture.stack);

    // Assess
    const tableArn = { 'Fn::GetAtt': [logicalIdOf(fixture.stack, fixture.table), 'Arn'] };
    const dynamo = roleStatements(
      template,
      roleIdOf(template, logicalIdOf(fixture.stack, cron.dispatchFunction)),
    ).filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:'));
    expect(dynamo).toEqual([
      {
        Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Effect: 'Allow',
        Resource: tableArn,
      },
    ]);
  });

  it('is retained by default, like any table holding what cannot be rebuilt', () => {
    // Prepare
    const fixture = constructFixture();

    // Act
    const template = Template.fromStack(fixture.stack);

    // Assess
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});
