import { JobError } from './errors.js';

/*
 * SigV4 signing of requests to a deployment with IAM authorization (API Gateway's `execute-api`). This
 * module is loaded only by a client given `auth: { type: 'iam' }`, and only it loads the signing
 * packages, so the SDK's default path imports nothing beyond its own files.
 */

/** AWS credentials to sign with. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** `auth` of a client calling a deployment that uses IAM authorization. */
export interface IamAuth {
  type: 'iam';
  /**
   * The API's region.
   * @default the region in an `execute-api` URL, else `AWS_REGION`, else `AWS_DEFAULT_REGION`
   */
  region?: string;
  /**
   * Credentials, or a function that returns them (called before each signature; cache in it).
   * @default the standard AWS credential chain: environment, SSO, shared config and credentials files
   *   (`AWS_PROFILE`), `credential_process`, web identity, ECS and EC2 instance roles
   */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
}

/** A request about to be sent: what the signature covers. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
}

/** The headers that sign `request` (`authorization`, `x-amz-date`, and the session token's). */
export type RequestSigner = (request: OutgoingRequest) => Promise<Record<string, string>>;

const EXECUTE_API_HOST = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;
const SIGNATURE_HEADERS = ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'];

/**
 * A signer for the API at `baseUrl`, its packages loaded now.
 * @internal Not part of the SDK's public API (not exported by `serverless-jobs/client`).
 */
export async function createIamSigner(
  auth: IamAuth,
  baseUrl: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<RequestSigner> {
  const region =
    auth.region ??
    EXECUTE_API_HOST.exec(new URL(baseUrl).hostname)?.[1] ??
    env.AWS_REGION ??
    env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new JobError(
      'No region to sign requests for: pass auth.region, or set AWS_REGION, or use the execute-api URL.',
      { status: 0, code: 'not_configured' },
    );
  }
  const [{ SignatureV4 }, { Hash }, credentials] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@smithy/hash-node'),
    auth.credentials === undefined
      ? import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider())
      : auth.credentials,
  ]);
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials,
    sha256: Hash.bind(null, 'sha256'),
    // Every service but S3 signs each path segment encoded once more than it is sent.
    uriEscapePath: true,
  });
  return async ({ method, url, headers, body }) => {
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port !== '' && { port: Number(url.port) }),
      path: url.pathname,
      query,
      // `fetch` sends this same Host; it is signed, not set.
      headers: { ...headers, host: url.host },
      body,
    });
    const added: Record<string, string> = {};
    for (const name of SIGNATURE_HEADERS) {
      const value = signed.headers[name];
      if (value !== undefined) added[name] = value;
    }
    return added;
  };
}
