import { parseJsonObject } from '../domain/json.js';
import { parseOrThrow } from '../domain/validation.js';
import { parseHeaders, parseQuery } from './query.js';
import { assertBodyWithinLimit, type HttpRequest, readJsonObject } from './request.js';
import type { RouteDefinition, RouteInput } from './route-definition.js';

/**
 * A request's inputs as a route defines them: path parameters, query (see `parseQuery`), body and
 * headers, in that order, each parsed by its schema; the first that fails answers (400, 413, 415 or 422
 * naming the field). A body read after the handler starts comes as a reader (see `RouteBody.read`).
 */
export function readRouteInput<R extends RouteDefinition>(route: R, request: HttpRequest): RouteInput<R> {
  const params = route.params ? parseOrThrow(route.params, request.params) : {};
  const query = route.query ? parseQuery(route.query, request.query) : {};
  const body = readBody(route, request);
  const headers = route.headers ? parseHeaders(route.headers, request.headers) : {};
  return { params, query, headers, body, request } as RouteInput<R>;
}

function readBody(route: RouteDefinition, request: HttpRequest): unknown {
  const body = route.body;
  if (!body) {
    // Bodyless actions (enable, disable, cancel) refuse an oversized body rather than reading it; reads
    // and deletes ignore whatever body they are sent.
    if (route.method === 'POST') assertBodyWithinLimit(request);
    return undefined;
  }
  const parse = (value: unknown) => parseOrThrow(body.schema, value);
  if (route.auth === 'webhook-signature') {
    // The signature covers the raw bytes: their size is checked before it is computed, their JSON only
    // once it holds, whatever the Content-Type says (senders differ; the signature vouches for the bytes).
    assertBodyWithinLimit(request);
    return () =>
      parse(request.rawBody.length === 0 ? {} : parseJsonObject(request.rawBody, 'The delivery body'));
  }
  const read = () => (!body.required && request.rawBody.length === 0 ? {} : readJsonObject(request));
  switch (body.read ?? 'before') {
    case 'before':
      return parse(read());
    case 'after-lookup': {
      const json = read();
      return () => parse(json);
    }
    case 'after-auth':
      return () => parse(read());
  }
}
