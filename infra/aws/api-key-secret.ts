import { Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * The secret holding the control plane's API keys, one per line (clients send `Authorization: Bearer <key>`),
 * created with one key of 48 letters and digits generated at deploy time. Rotation is manual and overlapping (see
 * the acknowledgement below); the API re-reads the secret every 5 minutes.
 */
export class ApiKeySecret extends Secret {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      description:
        'API keys of the Serverless Jobs control plane, one per line (Authorization: Bearer <key>); ' +
        'created with one generated key',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret holds the API keys clients send as bearer tokens; a scheduled rotation would cut every ' +
        'client off at once with no way to hand them the new key. Rotation is manual and overlapping: add a ' +
        'new key as a new line of the secret (the API accepts several, re-read every 5 minutes), move clients, ' +
        'then remove the old line.',
    });
  }
}
