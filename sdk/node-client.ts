import { ControlPlaneClient as BaseClient } from './client.js';
import type { IamAuth, RequestSigner } from './iam-signing.js';

/**
 * `ControlPlaneClient` for Node: the same client, able to sign requests with AWS credentials when given
 * `auth: { type: 'iam' }`. The signing module, and the AWS packages it loads, are imported on the first
 * signed request only, so a client using an API key loads nothing more.
 * @example
 * import { ControlPlaneClient } from 'serverless-jobs/client';
 *
 * // JOBS_API_URL and JOBS_API_KEY from the environment
 * const client = new ControlPlaneClient();
 * // A deployment with IAM authorization: SigV4 with the standard AWS credential chain
 * const signed = new ControlPlaneClient({ baseUrl: process.env.JOBS_IAM_API_URL, auth: { type: 'iam' } });
 */
export class ControlPlaneClient extends BaseClient {
  protected override async iamSigner(auth: IamAuth, baseUrl: string): Promise<RequestSigner> {
    const { createIamSigner } = await import('./iam-signing.js');
    return createIamSigner(auth, baseUrl, process.env);
  }
}
