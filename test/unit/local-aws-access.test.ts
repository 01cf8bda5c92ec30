import { describe, expect, it } from 'vitest';
import { localAwsRegion } from '../../infra/local/aws-access.js';

describe('localAwsRegion: whether the local runtime calls AWS for its targets', () => {
  it.each([
    ['a profile and AWS_REGION', { AWS_PROFILE: 'dev', AWS_REGION: 'eu-west-1' }, 'eu-west-1'],
    [
      'keys and AWS_DEFAULT_REGION',
      { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'secret', AWS_DEFAULT_REGION: 'us-east-2' },
      'us-east-2',
    ],
    [
      'web identity credentials',
      { AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token', AWS_REGION: 'eu-central-1' },
      'eu-central-1',
    ],
    ['a region but no credentials', { AWS_REGION: 'eu-west-1' }, null],
    ['credentials but no region', { AWS_PROFILE: 'dev' }, null],
    ['a key id without its secret', { AWS_ACCESS_KEY_ID: 'AKIA', AWS_REGION: 'eu-west-1' }, null],
    ['empty values', { AWS_PROFILE: '', AWS_REGION: '' }, null],
    ['nothing', {}, null],
  ])('with %s: %s', (_label, env, expected) => {
    // Act
    const region = localAwsRegion(env);

    // Assess
    expect(region).toBe(expected);
  });
});
