import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { logicalIdIgnoringGroups, uniqueIdOf } from '../../infra/aws/logical-ids.js';
import { buildApp, constructFixture, removeOutdirs, resourcesOf } from './support.js';

afterAll(removeOutdirs);

/**
 * Every resource of the dev deployment with customer-managed encryption as it was before the stack was split into
 * constructs, but the three invoke permissions whose ids CDK derives from the paths of the functions (see below).
 * A resource whose logical ID changes is replaced by CloudFormation: this list must only grow.
 */
const idsBeforeTheConstructs = [
  'AlarmTopicD01E77F9',
  'AlarmTopicPolicy309DB5F8',
  'ApiAccessLogsE9DF007D',
  'ApiFunctionCE271BD4',
  'ApiFunctionLogGroup00D1AC73',
  'ApiFunctionRoleDefaultPolicyF7D07E66',
  'ApiFunctionRoleF04A0202',
  'ApiKeySecretF1B08E61',
  'DataKey17AFBB84',
  'DataKeyAliasF989EB84',
  'DispatchFunction3BD6E874',
  'DispatchFunctionLogGroupB7014B62',
  'DispatchFunctionRole9508B73F',
  'DispatchFunctionRoleDefaultPolicy4A99E2F2',
  'HttpApiANY7B3CD14C',
  'HttpApiANYproxy435A1FB9',
  'HttpApiDELETEentitiesid3913DB9B',
  'HttpApiDELETEjobsidFD7B5EE8',
  'HttpApiDefaultStage3EEB07D6',
  'HttpApiF5A9A8A7',
  'HttpApiGETcronpreview5DC8DB22',
  'HttpApiGETentitiesFA55C6F6',
  'HttpApiGETentitiesidFC8E39A8',
  'HttpApiGEThealthAB1F4856',
  'HttpApiGEThealthApiIntegration8B197B8C',
  'HttpApiGETjobs326FB9DA',
  'HttpApiGETjobsid0B36FDBF',
  'HttpApiGETjobsidexecutions61BCC4CA',
  'HttpApiGETjobsidexecutionseid03D517BB',
  'HttpApiGETopenapijsonF2409AE2',
  'HttpApiPATCHentitiesid3A1B937A',
  'HttpApiPATCHjobsid928B2E9C',
  'HttpApiPOSTentities799C841D',
  'HttpApiPOSTexecutionsidcallback6C8A8FDA',
  'HttpApiPOSTjobsEC8822B3',
  'HttpApiPOSTjobsiddisable4E00B7CF',
  'HttpApiPOSTjobsidenableC0DDC54C',
  'HttpApiPOSTjobsidexecutionseidcancel813CE08E',
  'HttpApiPOSTjobsidtrigger4E285C74',
  'HttpApiPOSTjobsidwebhooksecretrotate0472BB74',
  'HttpApiPOSTwebhookspath983C05C9',
  'HttpApiPOSTwebhookspathWebhookIntegration3C118CDF',
  'JobsTable1970BC16',
  'ScheduleGroup4D377372',
  'SchedulerDeadLetterAlarm992ACED2',
  'SchedulerDeadLetterQueueFA1FB96A',
  'SchedulerDeadLetterQueuePolicy296F13A6',
  'SchedulerRole59E73443',
  'SchedulerRoleDefaultPolicy66F774B8',
  'SecretsKey317DCF94',
  'SweeperDeadLetterAlarmFC102A16',
  'SweeperFunctionB5F2624B',
  'SweeperFunctionLogGroup1A52FD02',
  'SweeperFunctionRole441B06C9',
  'SweeperFunctionRoleDefaultPolicy3B5B9BBE',
  'SweeperRulesDeadLetterQueue7F87BF86',
  'SweeperRulesDeadLetterQueuePolicy35F00CF0',
  'SweeperRulesReconcileSchedulesSchedule5C424ED0',
  'SweeperRulesSweepSchedule35C9A25F',
  'WebhookFunction59DCB58D',
  'WebhookFunctionLogGroup6D91472A',
  'WebhookFunctionRoleDefaultPolicy1C916D93',
  'WebhookFunctionRoleE78DB0E3',
  'WorkerdefaultDeadLetterAlarm7132B019',
  'WorkerdefaultDeadLetterQueueCFA222F7',
  'WorkerdefaultDeadLetterQueuePolicyCD45CB37',
  'WorkerdefaultFunction85D6D15F',
  'WorkerdefaultFunctionLogGroupB14F4C7E',
  'WorkerdefaultFunctionRoleCE9C74FE',
  'WorkerdefaultFunctionRoleDefaultPolicy9C4F463F',
  'WorkerdefaultFunctionSqsEventSourceServerlessJobsdevWorkerdefaultQueue3B61C253963F1BF4',
  'WorkerdefaultQueue6C287AF3',
  'WorkerdefaultQueuePolicy22CFF2AD',
  'WorkerproductionDeadLetterAlarm2F8CB246',
  'WorkerproductionDeadLetterQueueB27C9F42',
  'WorkerproductionDeadLetterQueuePolicy64845893',
  'WorkerproductionFunction9AD0D3C3',
  'WorkerproductionFunctionLogGroupAED51246',
  'WorkerproductionFunctionRole78DD7B54',
  'WorkerproductionFunctionRoleDefaultPolicyBD6C86CD',
  'WorkerproductionFunctionSqsEventSourceServerlessJobsdevWorkerproductionQueueDD2AB96E61505AE5',
  'WorkerproductionQueue79A26CB3',
  'WorkerproductionQueuePolicy9C793093',
  'WorkersecurityDeadLetterAlarm812C8F33',
  'WorkersecurityDeadLetterQueue910B4A78',
  'WorkersecurityDeadLetterQueuePolicyC0BFDE4B',
  'WorkersecurityFunctionFFFF6364',
  'WorkersecurityFunctionLogGroup7673BABA',
  'WorkersecurityFunctionRole31785D3C',
  'WorkersecurityFunctionRoleDefaultPolicyAE1AD9F5',
  'WorkersecurityFunctionSqsEventSourceServerlessJobsdevWorkersecurityQueueA9FBEA7642F384F7',
  'WorkersecurityQueue021CD136',
  'WorkersecurityQueuePolicy66FFD4F9',
];

/** Resources added to the dev deployment since the split, each by a feature of its own. */
const ADDED_AFTER_THE_CONSTRUCTS = [
  // Runs across jobs and replay.
  'HttpApiGETexecutionsBCB21ACA',
  'HttpApiPOSTjobsidexecutionseidreplay29B74A92',
  // Scoped API keys and a job's audit trail.
  'HttpApiDELETEapikeysname1D96C3B9',
  'HttpApiGETapikeysB77C8472',
  'HttpApiGETjobsidhistoryEAF90ACD',
  'HttpApiPOSTapikeys98543B01',
  // Alerts: notification channels, the dashboard and the delivery alarm.
  'AlertingDashboard7F275750',
  'AlertingNotificationDeliveryAlarm676EA249',
  'HttpApiDELETEnotificationchannelsidBD1E566A',
  'HttpApiGETnotificationchannels23A3397F',
  'HttpApiGETnotificationchannelsidF8B360E6',
  'HttpApiPATCHnotificationchannelsid2C79A025',
  'HttpApiPOSTnotificationchannels04117F8B',
  'HttpApiPOSTnotificationchannelsidtest889D5273',
];

/** Every CloudFormation element below `stack`, with its path below the stack. */
function elementsOf(stack: Stack): { element: CfnElement; path: string[] }[] {
  return stack.node
    .findAll()
    .filter(
      (construct): construct is CfnElement => (construct as Partial<CfnElement>).logicalId !== undefined,
    )
    .filter((element) => element.stack === stack)
    .map((element) => {
      const scopes = element.node.scopes;
      return { element, path: scopes.slice(scopes.indexOf(stack) + 1).map((scope) => scope.node.id) };
    });
}

describe('uniqueIdOf', () => {
  it("computes CDK's own logical ID for every element of a stack without groups", () => {
    // Prepare: nested constructs, "Default" and "Resource" ids, a long id.
    const fixture = constructFixture();
    fixture.addQueue();
    fixture.addControlPlane();
    new Queue(new Construct(fixture.stack, 'x'.repeat(300)), 'Default');
    const elements = elementsOf(fixture.stack);

    // Act
    const mismatches = elements.filter(
      ({ element, path }) => uniqueIdOf(path) !== fixture.stack.resolve(element.logicalId),
    );

    // Assess
    expect(elements.length).toBeGreaterThan(30);
    expect(mismatches.map(({ path }) => path.join('/'))).toEqual([]);
  });

  it('refuses an empty path', () => {
    // Act
    const compute = () => uniqueIdOf(['Default']);

    // Assess
    expect(compute).toThrow('A logical ID needs at least one path component');
  });
});

describe('logicalIdIgnoringGroups', () => {
  it('gives a child of a group the ID it has at the top level of the stack', () => {
    // Prepare
    const fixture = constructFixture();
    const topLevel = new Queue(fixture.stack, 'Queue');
    const group = new Construct(fixture.stack, 'Group');
    const grouped = new Queue(group, 'Queue');
    const defaultChild = (queue: Queue) => queue.node.defaultChild as CfnElement;

    // Act
    const ids = [topLevel, grouped].map((queue) =>
      logicalIdIgnoringGroups(fixture.stack, defaultChild(queue), new Set(['Group'])),
    );

    // Assess
    expect(ids[1]).toBe(ids[0]);
    expect(ids[0]).toBe(fixture.stack.resolve(defaultChild(topLevel).logicalId));
  });

  it('makes synthesis fail when two groups hold children of the same id', () => {
    // Prepare
    class GroupingStack extends Stack {
      protected override allocateLogicalId(element: CfnElement): string {
        return logicalIdIgnoringGroups(this, element, new Set(['A', 'B']));
      }
    }
    const fixture = constructFixture();
    const stack = new GroupingStack(fixture.app, 'Grouping');
    new Queue(new Construct(stack, 'A'), 'Queue');
    new Queue(new Construct(stack, 'B'), 'Queue');

    // Act
    const synth = () => Template.fromStack(stack);

    // Assess
    expect(synth).toThrow(/already contains/);
  });
});

describe('JobsStack logical IDs', () => {
  const { stack } = buildApp('dev', { encryption: 'customer-managed' });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>;

  it('keep those every resource had before the stack was split into constructs', () => {
    // Act
    // The console came after the split; its resources are new, not renamed (test/infra/console-site.test.ts).
    const ids = Object.entries(resources)
      .filter(([, resource]) => !['AWS::Lambda::Permission', 'AWS::CDK::Metadata'].includes(resource.Type))
      .map(([id]) => id)
      .filter((id) => !/console/i.test(id));
    const before = new Set(idsBeforeTheConstructs);

    // Assess: the table, the keys, the secret, the queues, the schedule group, the rules, the API, its stage and
    // routes, the functions, their roles and log groups: all updated in place, none replaced or removed; what
    // is new since is listed, so a rename shows up as one ID gone and one added.
    expect(idsBeforeTheConstructs.filter((id) => !ids.includes(id))).toEqual([]);
    expect(ids.filter((id) => !before.has(id)).sort()).toEqual([...ADDED_AFTER_THE_CONSTRUCTS].sort());
  });

  it('differ only for the invoke permissions CDK names after the functions they admit (replaced harmlessly)', () => {
    // Act
    const permissions = Object.keys(resourcesOf(Template.fromStack(stack), 'AWS::Lambda::Permission')).filter(
      (id) => !/console/i.test(id),
    );

    // Assess: the API's one permission, the webhook route's, and the two sweeper rules'.
    expect(permissions.sort()).toEqual(
      [
        'HttpApiGEThealthApiPermissionApiScopedServerlessJobsdevControlPlaneApiFunction41F03CADServerlessJobsdevControlPlaneHttpApiF40BA6BE71A47EB6',
        'HttpApiPOSTwebhookspathWebhookIntegrationPermission0F81622C',
        'SweeperRulesReconcileSchedulesScheduleAllowEventRuleServerlessJobsdevSweeperSweeperFunctionC501F169568E4EBB',
        'SweeperRulesSweepScheduleAllowEventRuleServerlessJobsdevSweeperSweeperFunctionC501F169EBC75E19',
      ].sort(),
    );
  });
});
