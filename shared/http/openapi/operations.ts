import type {
  ZodOpenApiOperationObject,
  ZodOpenApiParameters,
  ZodOpenApiPathsObject,
  ZodOpenApiResponsesObject,
} from 'zod-openapi';
import type { Auth, ErrorStatus, RouteDefinition, RouteError } from '../route-definition.js';
import { errorResponseOf } from './error-responses.js';

/** How each kind of authentication appears in the document; absent means its default, the API key. */
const SECURITY: Record<Auth, Record<string, string[]>[] | undefined> = {
  'api-key': undefined,
  none: [],
  // The target proves itself with the attempt's token, a bearer credential of its own.
  'callback-token': [{ callbackToken: [] }],
  // Authenticated by the signature over the body, which no security scheme describes.
  'webhook-signature': [],
};

/** The document's `paths`, one operation per route, in the table's order. */
export function pathsOf(routes: readonly RouteDefinition[]): ZodOpenApiPathsObject {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    const item = paths[route.path] as Record<string, ZodOpenApiOperationObject>;
    item[route.method.toLowerCase()] = operationOf(route);
  }
  return paths;
}

function operationOf(route: RouteDefinition): ZodOpenApiOperationObject {
  const security = SECURITY[route.auth];
  const requestParams: ZodOpenApiParameters = {
    ...(route.params && { path: route.params }),
    ...(route.query && { query: route.query }),
    ...(route.headers && { header: route.headers }),
  };
  const { response, body } = route;
  const responses: ZodOpenApiResponsesObject = {
    [response.status]: {
      description: response.description,
      ...(response.headers && { headers: response.headers }),
      ...(response.schema && {
        content: { 'application/json': { schema: response.schema, examples: response.examples ?? {} } },
      }),
    },
  };
  for (const [status, error] of Object.entries(route.errors) as [`${ErrorStatus}`, RouteError][]) {
    responses[status] = errorResponseOf(Number(status) as ErrorStatus, error);
  }
  return {
    operationId: route.operationId,
    ...(route.sdkMethod && { 'x-sdk-method': route.sdkMethod }),
    ...(route.auth === 'api-key' && { 'x-required-scope': route.scope }),
    tags: [...route.tags],
    summary: route.summary,
    description: route.description,
    ...(security && { security }),
    ...(Object.keys(requestParams).length > 0 && { requestParams }),
    ...(body && {
      requestBody: {
        description: body.description,
        required: body.required,
        content: { 'application/json': { schema: body.schema, examples: body.examples } },
      },
    }),
    responses,
  };
}
