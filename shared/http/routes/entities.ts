import * as z from 'zod/mini';
import {
  EntityCreateSchema,
  EntityListResponseSchema,
  EntityPatchSchema,
  EntitySchema,
  EntityWithSecretSchema,
} from '../../domain/entity.js';
import { queryParameters } from '../query.js';
import { defineRoute } from '../route-definition.js';
import { ENTITY_ID, example, HTTP_ENTITY, LAMBDA_ENTITY } from './examples.js';
import { locationHeader } from './jobs.js';
import { CursorParam, EntityIdParam, LimitParam } from './parameters.js';

const entityId = z.object({ id: EntityIdParam });
const NO_ENTITY = 'No entity with this id.';
const V2_TARGET = { type: 'http', url: 'https://agents.example.com/support/v2', timeout_seconds: 120 };

export const listEntities = defineRoute({
  operationId: 'listEntities',
  method: 'GET',
  path: '/entities',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'entities.listPage',
  tags: ['Entities'],
  summary: 'List entities',
  description: 'One page of entities, newest first.',
  query: queryParameters({ limit: LimitParam, cursor: CursorParam }, { once: ['limit', 'cursor'] }),
  response: {
    status: 200,
    description: 'A page of entities.',
    schema: EntityListResponseSchema,
    examples: {
      page: example('The last page', { entities: [HTTP_ENTITY, LAMBDA_ENTITY], next_cursor: null }),
    },
  },
  errors: {
    400: '`cursor` was not issued by this service.',
    401: true,
    422: 'An unknown, repeated or invalid query parameter.',
    500: true,
  },
});

export const createEntity = defineRoute({
  operationId: 'createEntity',
  method: 'POST',
  path: '/entities',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'entities.create',
  tags: ['Entities'],
  summary: 'Create an entity',
  description:
    'Creates an agent, team or workflow. An http target gets a signing secret for the requests the service sends it, shown in this answer only.',
  body: {
    schema: EntityCreateSchema,
    required: true,
    description: 'The entity.',
    examples: {
      http: example('An agent behind HTTP', {
        id: ENTITY_ID,
        type: 'agent',
        name: 'Support agent',
        description: 'Answers support tickets',
        target: { type: 'http', url: 'https://agents.example.com/support', timeout_seconds: 60 },
      }),
      lambda: example('An agent in a Lambda function', {
        id: 'billing-agent',
        type: 'agent',
        name: 'Billing agent',
        target: { type: 'lambda', function_name: 'billing-agent:live' },
      }),
    },
  },
  response: {
    status: 201,
    description: 'The entity as created.',
    schema: EntityWithSecretSchema,
    headers: locationHeader(`/entities/${ENTITY_ID}`),
    examples: {
      http: example('With its signing secret', {
        ...HTTP_ENTITY,
        signing_secret: 'whsec_q2Lm9XvB7c4T0ePz1KdR6yWn3HsJ8aFu5GiO2kQbV1E=',
      }),
    },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    409: 'An entity with this id exists.',
    413: true,
    415: true,
    422: 'An invalid field.',
    500: true,
  },
});

export const getEntity = defineRoute({
  operationId: 'getEntity',
  method: 'GET',
  path: '/entities/{id}',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'entities.get',
  tags: ['Entities'],
  summary: 'Get an entity',
  description: 'One entity.',
  params: entityId,
  response: {
    status: 200,
    description: 'The entity.',
    schema: EntitySchema,
    examples: { http: example('An agent behind HTTP', HTTP_ENTITY) },
  },
  errors: { 401: true, 404: NO_ENTITY, 500: true },
});

export const updateEntity = defineRoute({
  operationId: 'updateEntity',
  method: 'PATCH',
  path: '/entities/{id}',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'entities.update',
  tags: ['Entities'],
  summary: 'Update an entity',
  description:
    'Changes the given fields. A switch to an http target from another kind creates its signing secret, shown in this answer only.',
  params: entityId,
  body: {
    schema: EntityPatchSchema,
    required: true,
    // An id no entity can have is a 404 whatever the patch holds.
    read: 'after-lookup',
    description: 'The fields to change.',
    examples: {
      rename: example('A new name and timeout', { name: 'Support agent (v2)', target: V2_TARGET }),
    },
  },
  response: {
    status: 200,
    description: 'The entity as updated.',
    schema: EntityWithSecretSchema,
    examples: {
      renamed: example('Renamed', {
        ...HTTP_ENTITY,
        name: 'Support agent (v2)',
        target: V2_TARGET,
        updated_at: '2025-01-15T10:00:00.000Z',
      }),
    },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    404: NO_ENTITY,
    409: 'Other requests kept changing the entity; try again.',
    413: true,
    415: true,
    422: 'An invalid field, or `id` or `type`, which cannot change.',
    500: true,
  },
});

export const deleteEntity = defineRoute({
  operationId: 'deleteEntity',
  method: 'DELETE',
  path: '/entities/{id}',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'entities.delete',
  tags: ['Entities'],
  summary: 'Delete an entity',
  description: 'Deletes an entity no job names.',
  params: entityId,
  response: { status: 204, description: 'Deleted.' },
  errors: {
    401: true,
    403: true,
    404: NO_ENTITY,
    409: 'A job names the entity; point it elsewhere or delete it first.',
    500: true,
  },
});
