import * as z from 'zod/mini';

/*
 * Who may do what: the scopes of API keys, the keys' wire shapes, and the caller a request was
 * authenticated as. Pure: hashing and storage are the adapters'.
 */

/**
 * What a caller may do, each scope including the ones before it:
 * - `read`: GET routes;
 * - `trigger`: reads, plus starting and cancelling runs;
 * - `admin`: everything, including jobs, entities and API keys.
 */
export const SCOPES = ['read', 'trigger', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ScopeSchema = z.enum(SCOPES).register(z.globalRegistry, {
  id: 'Scope',
  description:
    '`read` (GET routes), `trigger` (reads, plus trigger and cancel), or `admin` (everything, API keys included).',
});

/** Whether a caller holding `held` may call a route needing `needed`. */
export function scopeAllows(held: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(held) >= SCOPES.indexOf(needed);
}

/**
 * The name the deployment's own key (the Secrets Manager secret on AWS, the key `npm start` prints) is
 * known by: in the audit trail and nowhere else, so no stored key may take it.
 */
export const DEPLOYMENT_KEY_NAME = 'deployment';

/** How many stored keys a deployment may hold; every API function instance keeps all their hashes. */
export const MAX_API_KEYS = 100;

export const API_KEY_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const ApiKeyNameSchema = z.string().check(
  z.regex(
    API_KEY_NAME_PATTERN,
    'must be 1 to 63 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
  ),
  z.refine((name) => name !== DEPLOYMENT_KEY_NAME, `"${DEPLOYMENT_KEY_NAME}" is the deployment's own key`),
);

export const ApiKeyCreateSchema = z
  .strictObject({
    name: ApiKeyNameSchema.clone().register(z.globalRegistry, {
      description: 'Unique; how the key appears in lists and in the audit trail.',
    }),
    scope: ScopeSchema,
  })
  .register(z.globalRegistry, { id: 'ApiKeyCreate', description: 'A key to create.' });
export type ApiKeyCreate = z.output<typeof ApiKeyCreateSchema>;

export const ApiKeySchema = z
  .object({
    name: z.string(),
    scope: ScopeSchema,
    created_at: z.string(),
    last_used_at: z.nullable(z.string()).register(z.globalRegistry, {
      description: 'When the key last authenticated a request, to the minute; null if never.',
    }),
  })
  .register(z.globalRegistry, {
    id: 'ApiKey',
    description: 'An API key, without the key itself (only its hash is kept).',
  });
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const ApiKeyWithSecretSchema = z
  .extend(ApiKeySchema, {
    key: z.string().register(z.globalRegistry, {
      description: 'The key: shown in this answer only. Send it as `Authorization: Bearer <key>`.',
    }),
  })
  .register(z.globalRegistry, {
    id: 'ApiKeyWithSecret',
    description: 'A key as created, with the key itself, shown this once.',
  });
export type ApiKeyWithSecret = z.infer<typeof ApiKeyWithSecretSchema>;

export const ApiKeyListResponseSchema = z
  .object({ api_keys: z.array(ApiKeySchema) })
  .register(z.globalRegistry, {
    id: 'ApiKeyList',
    description: 'Every stored API key, oldest first.',
  });

/** Who made a request, once authenticated. */
export type Caller =
  | { type: 'api_key'; name: string; scope: Scope }
  /** An IAM principal, authenticated by API Gateway's IAM authorization (SigV4). */
  | { type: 'iam'; arn: string; scope: Scope };

/**
 * How callers of the control-plane routes authenticate, a deployment setting:
 * - `api-key`: `Authorization: Bearer <key>` only;
 * - `iam`: SigV4-signed requests only, verified by API Gateway's IAM authorization;
 * - `both`: either (on AWS, the IAM-authorized routes are on a second HTTP API of their own).
 */
export const AUTH_MODES = ['api-key', 'iam', 'both'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** The scope an IAM principal gets: IAM policies on the API's execute-api ARNs say which routes it may call. */
export const IAM_PRINCIPAL_SCOPE: Scope = 'admin';
