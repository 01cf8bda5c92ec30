import type * as z from 'zod/mini';
import type { ZodOpenApiMetadata } from 'zod-openapi';
import type { Scope } from '../domain/access.js';
import type { HttpRequest } from './request.js';

/*
 * What a route is, as data: one definition per route, from which the router, the request validation
 * and the OpenAPI document all come (see docs/architecture.md, "How to add a route"). Definitions hold
 * zod schemas and plain values only, so the stack, the tests and the document generator import them
 * without handlers, services or AWS clients.
 */

/**
 * Who may call a route:
 * - `none`: anyone (health, this document);
 * - `api-key`: a caller credential, checked by the router before anything else: `Authorization: Bearer
 *   <API key>`, or, where the deployment uses IAM authorization, the IAM principal API Gateway verified;
 *   the route's `scope` says which callers may call it;
 * - `callback-token`: the bearer token of one attempt of one run, checked by the service;
 * - `webhook-signature`: a signature over the raw body, checked by the service.
 */
export type Auth = 'none' | 'api-key' | 'callback-token' | 'webhook-signature';

export type RouteMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** The error answers the document describes; each has a shared description and example. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500;

export interface Example {
  summary: string;
  value: unknown;
}

/** A JSON Schema written out, for the rare answer no zod schema describes (the OpenAPI document itself). */
export type JsonSchema = Record<string, unknown>;

/** A zod object whose fields are a route's path parameters, query parameters or headers. */
export type FieldsSchema = z.ZodMiniObject<z.core.$ZodShape>;

export interface RouteBody<S extends z.ZodMiniType = z.ZodMiniType> {
  /** The body's schema; its output is what the handler gets. */
  schema: S;
  /** False: an empty body is read as `{}`. */
  required: boolean;
  /**
   * When the body is read, relative to the handler:
   * - `before` (the default): size, media type, JSON and schema, all before the handler runs;
   * - `after-lookup`: the JSON before, the schema when the handler asks (it gets a reader): the service
   *   first checks that what the route changes exists, so an unknown id is a 404 whatever the body holds;
   * - `after-auth`: nothing before the handler asks (but the size of a signed body, which is checked
   *   before its signature is computed): the service authenticates the caller first, so an
   *   unauthenticated caller learns nothing of the body's rules.
   */
  read?: 'before' | 'after-lookup' | 'after-auth';
  description: string;
  examples: Record<string, Example>;
}

export interface RouteResponse {
  status: 200 | 201 | 202 | 204;
  description: string;
  /** The body's schema; absent for an answer without a body (204). */
  schema?: z.ZodMiniType | JsonSchema;
  /** Headers of the answer (`Location`), one field each. */
  headers?: FieldsSchema;
  examples?: Record<string, Example>;
}

/**
 * An error answer of a route: `true` for the shared answer as it is, a string for what it means on this
 * route, or an answer of the route's own (with the error its example shows, made when the document is).
 */
export type RouteError =
  | true
  | string
  | { description: string; example: { summary: string; error: () => Error } };

interface RouteFields {
  /** Unique; also the name the route table knows the route by. */
  operationId: string;
  method: RouteMethod;
  /** Literal segments and `{name}` parameters, as API Gateway writes them: `/jobs/{id}/enable`. */
  path: string;
  tags: readonly string[];
  summary: string;
  description: string;
  /** The SDK method that calls this route (`jobs.get` for `client.jobs.get`), where there is one. */
  sdkMethod?: string;
  params?: FieldsSchema;
  /** Read with `parseQuery` (see query.ts): its rules come with schemas made by `queryParameters`. */
  query?: FieldsSchema;
  /** Header names as documented (`Idempotency-Key`); read case-insensitively. */
  headers?: FieldsSchema;
  body?: RouteBody;
  response: RouteResponse;
  /** Every error status the route answers with, besides 404/405 for paths and methods it does not have. */
  errors: Partial<Record<ErrorStatus, RouteError>>;
}

/**
 * A route callers authenticate to with their own credential. Its scope is part of its definition, so a
 * route cannot be added without saying who may call it: `read` for what only reads, `trigger` for
 * starting and cancelling runs, `admin` for everything else.
 */
export interface CallerRoute extends RouteFields {
  auth: 'api-key';
  scope: Scope;
}

/** A route open to anyone, or whose service authenticates the caller itself; scopes do not apply. */
export interface OtherRoute extends RouteFields {
  auth: Exclude<Auth, 'api-key'>;
  scope?: never;
}

export type RouteDefinition = CallerRoute | OtherRoute;

/** Keeps a definition's literal types, so handlers bound to it get typed inputs. */
export function defineRoute<const R extends RouteDefinition>(route: R): R {
  return route;
}

type Fields<S> = S extends z.ZodMiniType ? z.output<S> : Record<string, never>;

type BodyOf<B> =
  B extends RouteBody<infer S>
    ? B['read'] extends 'after-lookup' | 'after-auth'
      ? () => z.output<S>
      : z.output<S>
    : undefined;

/** What a handler bound to `R` receives: its inputs parsed by the route's schemas, and the request. */
export interface RouteInput<R extends RouteDefinition> {
  params: Fields<R['params']>;
  query: Fields<R['query']>;
  headers: Fields<R['headers']>;
  /** The parsed body, or how to read it for a body read after the handler starts (see `RouteBody.read`). */
  body: BodyOf<R['body']>;
  request: HttpRequest;
}

/** The metadata zod-openapi reads from zod's global registry: `param`, `header`, `override`. */
export type OpenApiMeta = ZodOpenApiMetadata;
