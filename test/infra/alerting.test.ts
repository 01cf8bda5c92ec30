import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { deploymentNames, getDeploymentSettings, resolveDeploymentSettings } from '../../infra/aws/config.js';
import {
  asArray,
  buildApp,
  eventBusArn,
  logicalIdOf,
  removeOutdirs,
  renderCfnString,
  resourcesOf,
  resourcesReachedBy,
  roleIdOf,
  roleStatements,
  variablesOf,
  workerFunctionsOf,
} from './support.js';

afterAll(removeOutdirs);

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:jobs-alerts';

function inspect(overrides: Parameters<typeof buildApp>[1] = {}) {
  const { stack } = buildApp('test', overrides);
  const template = Template.fromStack(stack);
  const functions = new Map([
    ['api', stack.controlPlane.apiFunction],
    ['webhook', stack.webhookIngress.webhookFunction],
    ['sweeper', stack.sweeper.sweeperFunction],
    ['dispatch', stack.cronScheduling.dispatchFunction],
    ...[...workerFunctionsOf(stack)].map(([name, fn]) => [`worker ${name}`, fn] as const),
  ]);
  /** The resources each function's role may use `action` on. */
  const reach = (action: string) =>
    Object.fromEntries(
      [...functions].map(([name, fn]) => [
        name,
        roleStatements(template, roleIdOf(template, logicalIdOf(stack, fn)))
          .filter((statement) => asArray(statement.Action).includes(action))
          .flatMap((statement) => asArray(statement.Resource)),
      ]),
    );
  /** What the stack wrote in each function's `RUN_EVENTS`. */
  const runEvents = () =>
    Object.fromEntries(
      [...functions].map(([name, fn]) => [name, variablesOf(template, logicalIdOf(stack, fn)).RUN_EVENTS]),
    );
  return { stack, template, reach, runEvents };
}

const busArn = eventBusArn;

describe('alerting in the stack', () => {
  it('lets exactly the functions where runs end put events on the configured bus, and send to the allowed topics', () => {
    // Act
    const { reach } = inspect({ notificationTopicArns: [TOPIC], eventBusName: 'jobs-bus' });

    // Assess
    expect(reach('events:PutEvents')).toEqual({
      api: [busArn('jobs-bus')],
      webhook: [],
      sweeper: [busArn('jobs-bus')],
      dispatch: [],
      'worker default': [busArn('jobs-bus')],
      'worker production': [busArn('jobs-bus')],
      'worker security': [busArn('jobs-bus')],
    });
    expect(reach('sns:Publish')).toEqual({
      api: [TOPIC],
      webhook: [],
      sweeper: [TOPIC],
      dispatch: [],
      'worker default': [],
      'worker production': [],
      'worker security': [],
    });
  });

  it('puts events on the default bus and allows no SNS topic unless the deployment names one', () => {
    // Act
    const { reach } = inspect();

    // Assess
    expect(reach('events:PutEvents').sweeper).toEqual([busArn('default')]);
    expect(Object.values(reach('sns:Publish')).flat()).toEqual([]);
  });

  it('puts only failed runs on the bus by default, in every named deployment, and tells every function so', () => {
    // Act
    const resolved = deploymentNames.map(
      (name) => resolveDeploymentSettings(getDeploymentSettings(name)).runEvents,
    );
    const { runEvents } = inspect();

    // Assess
    expect(resolved).toEqual(deploymentNames.map(() => 'failed'));
    expect(new Set(Object.values(runEvents()))).toEqual(new Set(['failed']));
  });

  it.each(['ended', 'failed'] as const)(
    'with runEvents %s, keeps the functions that only start runs off the bus',
    (setting) => {
      // Act
      const { reach, runEvents } = inspect({ runEvents: setting });

      // Assess
      expect(reach('events:PutEvents')).toMatchObject({ webhook: [], dispatch: [] });
      expect(Object.values(runEvents())).toEqual(Object.values(runEvents()).map(() => setting));
    },
  );

  it('with runEvents all, lets the webhook and dispatch functions put their queued runs on the bus too', () => {
    // Act
    const { reach, runEvents } = inspect({ runEvents: 'all', eventBusName: 'jobs-bus' });

    // Assess
    expect(reach('events:PutEvents')).toEqual({
      api: [busArn('jobs-bus')],
      webhook: [busArn('jobs-bus')],
      sweeper: [busArn('jobs-bus')],
      dispatch: [busArn('jobs-bus')],
      'worker default': [busArn('jobs-bus')],
      'worker production': [busArn('jobs-bus')],
      'worker security': [busArn('jobs-bus')],
    });
    expect(runEvents()).toMatchObject({ webhook: 'all', dispatch: 'all', 'worker default': 'all' });
  });

  it('fails synthesis, naming the field, for an unknown runEvents', () => {
    // Act
    const build = () => buildApp('test', { runEvents: 'some' as unknown as 'all' });

    // Assess
    expect(build).toThrow('runEvents must be one of "all", "ended", "failed", got "some"');
  });

  it('lets the sweeper open, not seal, secrets, and reads the bus and topics from DEPLOYMENT_CONFIG', () => {
    // Act
    const { stack, template } = inspect({ notificationTopicArns: [TOPIC] });
    const sweeperId = logicalIdOf(stack, stack.sweeper.sweeperFunction);
    const reached = resourcesReachedBy(stack, template, sweeperId);
    const variables = variablesOf(template, sweeperId);

    // Assess
    expect(reached.get('key')).toEqual(['kms:Decrypt']);
    expect(variables.KMS_KEY_ID).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack, stack.secretsKey), 'Arn'] });
    expect(JSON.stringify(variables.DEPLOYMENT_CONFIG)).toContain(TOPIC);
  });

  it('alarms on failed notification deliveries to the alarm topic, and has a dashboard', () => {
    // Act
    const { stack, template } = inspect();
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties?.MetricName === 'NotificationDeliveryFailed',
    );
    const dashboards = Object.values(resourcesOf(template, 'AWS::CloudWatch::Dashboard'));

    // Assess
    expect(alarms.map((alarm) => alarm.Properties)).toEqual([
      expect.objectContaining({
        Namespace: 'ServerlessJobs',
        Dimensions: [{ Name: 'service', Value: 'serverless-jobs' }],
        Statistic: 'Sum',
        Period: 900,
        Threshold: 3,
        AlarmActions: [{ Ref: logicalIdOf(stack, stack.alarmTopic) }],
      }),
    ]);
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties?.DashboardBody);
    for (const title of [
      'Runs by status',
      'Cron lateness (ms)',
      'Webhook rejections by reason',
      'Age of the oldest queued run (s)',
      'Dead-letter queue depth',
      'Notifications',
    ]) {
      expect(body).toContain(title);
    }
    // Percentiles of the timing the dispatch records, by service only (the dimension every metric has).
    const widgets = (
      JSON.parse(renderCfnString(dashboards[0]?.Properties?.DashboardBody)) as {
        widgets: { properties: { title: string; metrics?: unknown[] } }[];
      }
    ).widgets;
    const lateness = widgets.find((widget) => widget.properties.title === 'Cron lateness (ms)');
    expect(lateness?.properties.metrics).toEqual(
      ['p50', 'p99'].map((stat) => [
        'ServerlessJobs',
        'CronFireLateness',
        'service',
        'serverless-jobs',
        { label: stat, stat },
      ]),
    );
  });
});
