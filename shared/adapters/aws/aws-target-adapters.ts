import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsTargetAdapters } from '../target-invoker.js';
import { regionalClients } from './aws-target-calls.js';
import { EventBridgeTargetInvoker } from './eventbridge-target.js';
import { LambdaTargetInvoker } from './lambda-target.js';
import { SqsTargetInvoker } from './sqs-target.js';
import { StepFunctionsTargetInvoker } from './step-functions-target.js';

export interface AwsTargetAdapterOptions {
  /** The region of clients for resources named without one (Lambda functions, buses by name). @default the SDK's (AWS_REGION) */
  region?: string;
  /** Wraps every client built (X-Ray capture on a traced deployment). @default none */
  wrap?: <C extends object>(client: C) => C;
}

/**
 * The adapters of every target kind that calls AWS, over clients built from the standard credential chain:
 * one client per region for Step Functions, SQS and EventBridge (a resource is called in its own region),
 * each built on first use. Only the worker builds these, so only its bundle carries those clients.
 */
export function awsTargetAdapters(options: AwsTargetAdapterOptions = {}): AwsTargetAdapters {
  const wrap = options.wrap ?? (<C extends object>(client: C) => client);
  const config = (region: string | null) => {
    const chosen = region ?? options.region;
    return chosen === undefined ? {} : { region: chosen };
  };
  return {
    lambda: new LambdaTargetInvoker(wrap(new LambdaClient(config(null)))),
    stepFunctions: new StepFunctionsTargetInvoker(
      regionalClients((region) => wrap(new SFNClient(config(region)))),
    ),
    sqs: new SqsTargetInvoker(regionalClients((region) => wrap(new SQSClient(config(region))))),
    eventBridge: new EventBridgeTargetInvoker(
      regionalClients((region) => wrap(new EventBridgeClient(config(region)))),
    ),
  };
}
