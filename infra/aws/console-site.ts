import { Duration, Validations } from 'aws-cdk-lib';
import { PayloadFormatVersion } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ControlPlaneApi, ControlPlaneRoute } from './control-plane-api.js';
import { functionEntry, JobsFunction } from './jobs-function.js';

/** The console's routes: the page and its files, read with GET (HEAD too: API Gateway routes them apart). */
export const consoleRoutes: readonly ControlPlaneRoute[] = [
  { method: 'GET', path: '/console' },
  { method: 'HEAD', path: '/console' },
  { method: 'GET', path: '/console/{proxy+}' },
  { method: 'HEAD', path: '/console/{proxy+}' },
];

/** Props of {@link ConsoleSite}. */
export interface ConsoleSiteProps {
  /** The HTTP API the console's routes are mounted on. */
  readonly api: ControlPlaneApi;
  /**
   * Retention of the function's log group.
   * @default JobsFunction's (one month)
   */
  readonly logRetention?: RetentionDays;
  /**
   * The built console (`npm run build`'s `dist/console`), relative to the repository root.
   * @default 'dist/console'
   */
  readonly assetsPath?: string;
}

/**
 * The console, served by the service itself: `GET /console` and its files, answered by a function holding the
 * built files beside its bundle. The page needs no key to load (it asks for one and calls the API with it), so
 * the function has no permission at all beyond its log group, and no environment.
 */
export class ConsoleSite extends Construct {
  /** Serves the console's files and nothing else. */
  public readonly consoleFunction: JobsFunction;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    this.consoleFunction = new JobsFunction(this, 'ConsoleFunction', {
      entry: functionEntry('console'),
      description: 'Serverless Jobs console (GET /console)',
      logRetention: props.logRetention,
      // Static files, read once per instance: the smallest memory serves them.
      memorySize: 128,
      timeout: Duration.seconds(5),
      files: [{ from: props.assetsPath ?? 'dist/console', to: 'console' }],
    });
    const integration = new HttpLambdaIntegration('ConsoleIntegration', this.consoleFunction, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    for (const route of consoleRoutes) {
      const added = props.api.addRoute({ route, integration });
      Validations.of(added).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'The console page and its scripts and styles are public files, like any web app shell: they hold no data ' +
          'and no secret. The page asks the user for an API key and calls the API with it; every API route ' +
          'checks the key.',
      });
    }
  }
}
