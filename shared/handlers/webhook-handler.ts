import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { WebhookRejectedError, type WebhookService } from '../app/webhook-service.js';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../domain/errors.js';
import { headWithoutBody, httpBoundary } from '../http/middlewares.js';
import { type HttpResponse, json } from '../http/responses.js';
import { serveRoutes } from '../http/router.js';
import { WEBHOOK_ROUTES } from '../http/routes/webhooks.js';
import { signedDelivery } from '../http/webhook-delivery.js';
import type { Logger, Metrics } from '../ports.js';
import { scopedToInvocation } from './invocation-scope.js';

/** Why a delivery was refused, as a metric dimension (never told to the caller beyond the status). */
function rejectionReason(error: unknown): string {
  if (error instanceof WebhookRejectedError) return error.reason;
  if (error instanceof NotFoundError) return 'unknown_path';
  if (error instanceof ConflictError) return 'disabled';
  if (error instanceof PayloadTooLargeError) return 'too_large';
  if (error instanceof BadRequestError) return 'malformed';
  if (error instanceof ValidationError) return 'invalid';
  if (error instanceof Error && error.name === 'RateLimitedError') return 'rate_limited';
  return 'error';
}

/** Logs each rejection and counts it as the `WebhookRejected` metric, by reason. */
function rejectionMetrics(
  logger: Logger,
  metrics: Metrics,
): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResponse> {
  return {
    onError: (request) => {
      const reason = rejectionReason(request.error);
      logger.warn('webhook delivery rejected', { reason });
      metrics.count('WebhookRejected', { Reason: reason });
    },
  };
}

export interface WebhookHandlerDeps {
  webhooks: WebhookService;
  logger: Logger;
  /** Counts `WebhookRejected`, by reason. */
  metrics: Metrics;
}

/**
 * The webhook Lambda: `POST /webhooks/{path}`, authenticated by the delivery's signature alone.
 * Middlewares run their error hooks in reverse order, so the metric is counted before the boundary
 * turns the error into its response.
 */
export function makeWebhookHandler(deps: WebhookHandlerDeps) {
  const serve = serveRoutes(WEBHOOK_ROUTES, {
    triggerWebhook: async (input) =>
      json(202, await deps.webhooks.deliver(signedDelivery(input), input.body)),
  });
  const handler = middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(headWithoutBody())
    .use(httpBoundary(deps.logger))
    .use(rejectionMetrics(deps.logger, deps.metrics))
    .handler(serve);
  return scopedToInvocation(deps.logger, handler);
}
