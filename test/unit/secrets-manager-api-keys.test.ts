import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerApiKeys } from '../../shared/adapters/aws/secrets-manager-api-keys.js';

/** What the deployment's own key is known as: `admin`, named `deployment`. */
const DEPLOYMENT_KEY = { name: 'deployment', scope: 'admin' };

const secretsManager = mockClient(SecretsManagerClient);
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jobs-api-key-AbCdEf';

beforeEach(() => {
  secretsManager.reset();
});

describe('SecretsManagerApiKeys', () => {
  it('reads the secret once for concurrent first requests and accepts each listed key', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'first-key\n  second-key  \n\n' });
    const keys = new SecretsManagerApiKeys(new SecretsManagerClient({}), SECRET_ARN);

    // Act
    const results = await Promise.all([
      keys.verify('first-key'),
      keys.verify('second-key'),
      keys.verify('third-key'),
      keys.verify(''),
    ]);

    // Assess
    expect(results).toEqual([DEPLOYMENT_KEY, DEPLOYMENT_KEY, null, null]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: SECRET_ARN,
    });
  });

  it('re-reads the secret after five minutes, so a rotated key takes effect without a deploy', async () => {
    // Prepare
    let now = 0;
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'old-key' })
      .resolvesOnce({ SecretString: 'new-key' });
    const keys = new SecretsManagerApiKeys(new SecretsManagerClient({}), SECRET_ARN, () => now);

    // Act
    const before = await keys.verify('old-key');
    now = 4 * 60 * 1000;
    const stillCached = await keys.verify('old-key');
    now = 5 * 60 * 1000 + 1;
    const oldAfter = await keys.verify('old-key');
    const newAfter = await keys.verify('new-key');

    // Assess
    expect([before, stillCached, oldAfter, newAfter]).toEqual([
      DEPLOYMENT_KEY,
      DEPLOYMENT_KEY,
      null,
      DEPLOYMENT_KEY,
    ]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps the known keys when a refresh fails, and fails the first load loudly', async () => {
    // Prepare
    let now = 0;
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'key' })
      .rejects(new Error('Secrets Manager unavailable'));
    const keys = new SecretsManagerApiKeys(new SecretsManagerClient({}), SECRET_ARN, () => now);
    const cold = new SecretsManagerApiKeys(new SecretsManagerClient({}), SECRET_ARN, () => now);

    // Act
    await keys.verify('key');
    now = 10 * 60 * 1000;
    const duringOutage = await keys.verify('key');
    const coldStart = cold.verify('key');

    // Assess
    expect(duringOutage).toEqual(DEPLOYMENT_KEY);
    await expect(coldStart).rejects.toThrow('Secrets Manager unavailable');
  });
});
