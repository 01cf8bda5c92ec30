import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import {
  acknowledgedOn,
  allPolicyDocuments,
  buildApp,
  isWildcardStatement,
  listSchedulesStatement,
  propertiesOf,
  removeOutdirs,
  resourcesOf,
  roleIdOf,
  roleStatements,
  statementsOf,
} from './support.js';

afterAll(removeOutdirs);

const xrayStatement = {
  Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
  Effect: 'Allow',
  Resource: '*',
} as const;

/**
 * Every function of a template that calls AWS, with its role's logical id: all but the console's, which
 * serves files from beside its bundle and has nothing to trace (test/infra/console-site.test.ts).
 */
function functionsOf(template: Template) {
  return Object.keys(resourcesOf(template, 'AWS::Lambda::Function'))
    .filter((id) => !id.startsWith('ConsoleConsoleFunction'))
    .map((id) => ({
      id,
      properties: propertiesOf(template, 'AWS::Lambda::Function', id),
      roleId: roleIdOf(template, id),
    }));
}

describe('tracing off (the default)', () => {
  const template = Template.fromStack(buildApp('dev').stack);

  it('leaves every function untraced, tells Powertools so, and grants no X-Ray action', () => {
    // Act
    const functions = functionsOf(template);

    // Assess
    expect(functions).toHaveLength(7);
    for (const { properties } of functions) {
      expect(properties.TracingConfig).toBeUndefined();
      expect(properties.Environment).toMatchObject({ Variables: { POWERTOOLS_TRACE_ENABLED: 'false' } });
    }
    const actions = allPolicyDocuments(template)
      .flatMap(statementsOf)
      .flatMap((statement) => statement.Action);
    expect(actions.flat().filter((action) => action.startsWith('xray:'))).toEqual([]);
  });
});

describe('tracing on', () => {
  const { app, stack } = buildApp('prod', { tracing: true });
  const template = Template.fromStack(stack);

  it('traces every function actively and tells Powertools to record', () => {
    // Act
    const functions = functionsOf(template);

    // Assess
    expect(functions).toHaveLength(7);
    for (const { properties } of functions) {
      expect(properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(properties.Environment).toMatchObject({ Variables: { POWERTOOLS_TRACE_ENABLED: 'true' } });
    }
  });

  it('lets each function role send its segments to X-Ray, on "*" as X-Ray requires, and nothing more', () => {
    // Act
    const functions = functionsOf(template);

    // Assess: X-Ray's two actions have no resource type; the sweeper's ListSchedules is the only other "*".
    for (const { roleId } of functions) {
      expect(roleStatements(template, roleId)).toContainEqual(xrayStatement);
      expect(acknowledgedOn(template, roleId)).toContainEqual({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: expect.stringMatching(
          /xray:PutTraceSegments and xray:PutTelemetryRecords[\s\S]*ListSchedules/,
        ),
      });
    }
    const wildcards = allPolicyDocuments(template).flatMap(statementsOf).filter(isWildcardStatement);
    expect(wildcards).toEqual(
      expect.arrayContaining([...functions.map(() => xrayStatement), listSchedulesStatement]),
    );
    expect(wildcards).toHaveLength(functions.length + 1);
  });

  it('passes cdk-nag, each acknowledgement with its reason', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    expect(report.success).toBe(true);
  });
});
