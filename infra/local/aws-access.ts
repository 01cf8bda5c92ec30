/**
 * Whether the local runtime may call AWS for the targets that need it (`lambda`, `stepfunctions`, `sqs`,
 * `eventbridge`): only when started with a region and credentials, so that a laptop without them never
 * reaches out to an account by surprise (the SDK would otherwise try the shared config files and the
 * instance metadata service). The clients then use the SDK's standard credential chain.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** Variables that name credentials for the SDK's chain: keys, a profile, web identity, a container's endpoint. */
function namesCredentials(env: Env): boolean {
  return Boolean(
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) ||
      env.AWS_PROFILE ||
      env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
  );
}

/**
 * The region the local runtime's AWS targets are called in: `AWS_REGION` (or `AWS_DEFAULT_REGION`) when the
 * environment also names credentials (`AWS_PROFILE`, or `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, or
 * web identity or container credentials); otherwise null, and those targets fail with a clear error.
 */
export function localAwsRegion(env: Env): string | null {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  return region && namesCredentials(env) ? region : null;
}
