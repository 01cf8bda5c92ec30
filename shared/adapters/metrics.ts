import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { EmfOutput } from '@aws-lambda-powertools/metrics/types';
import type { Logger, MetricName, Metrics } from '../ports.js';
import { SERVICE_NAME } from './logger.js';

/** The CloudWatch namespace of every metric of the service. */
export const METRICS_NAMESPACE = 'ServerlessJobs';

export type { EmfOutput };

export interface MetricsOptions {
  /** Receives Powertools' own warnings (a dimension it refused, …). */
  logger: Logger;
  /**
   * Receives each metric's CloudWatch embedded metric format (EMF) document instead of stdout, where
   * CloudWatch Logs would turn it into a metric. @default a JSON line on stdout
   */
  emit?: (emf: EmfOutput) => void;
}

/**
 * Counts and timings through Powertools for AWS Lambda's `Metrics`, in the namespace `ServerlessJobs`, with
 * the default dimension `service` = `serverless-jobs`. Each value is its own EMF line, written at once.
 *
 * @example
 * const metrics = createMetrics({ logger });
 * metrics.count('WebhookRejected', { Reason: 'bad_signature' });
 * metrics.timing('CronFireLateness', 840);
 */
export function createMetrics({ logger, emit }: MetricsOptions): Metrics {
  const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, logger });
  const record = (
    name: MetricName,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
    value: number,
    dimensions: Readonly<Record<string, string>>,
  ): void => {
    // Added, serialized and cleared in one synchronous step: no other value (a concurrent invocation
    // of the local runtime, another record of the batch) can slip its dimensions in between, nothing
    // waits in memory for a flush that a frozen or crashed Lambda would never make, and no invocation
    // ends with an empty flush (which Powertools warns about).
    for (const [key, dimension] of Object.entries(dimensions)) metrics.addDimension(key, dimension);
    metrics.addMetric(name, unit, value);
    if (!emit) {
      metrics.publishStoredMetrics();
      return;
    }
    let emf: EmfOutput;
    try {
      emf = metrics.serializeMetrics();
    } finally {
      metrics.clearMetrics();
      metrics.clearDimensions();
    }
    emit(emf);
  };
  return {
    count(name: MetricName, dimensions: Readonly<Record<string, string>> = {}): void {
      record(name, MetricUnit.Count, 1, dimensions);
    },
    timing(name: MetricName, milliseconds: number, dimensions: Readonly<Record<string, string>> = {}): void {
      record(name, MetricUnit.Milliseconds, milliseconds, dimensions);
    },
  };
}

/**
 * An `emit` writing each metric as a debug line of `logger` (`metric WebhookRejected=1 Reason=…`): for the
 * local runtime, where no CloudWatch reads EMF and the documents would only crowd the terminal.
 */
export function emitToLog(logger: Logger): (emf: EmfOutput) => void {
  return (emf) => {
    const definition = emf._aws.CloudWatchMetrics[0];
    const fields: Record<string, unknown> = {};
    for (const dimension of definition?.Dimensions[0] ?? []) {
      if (dimension !== 'service') fields[dimension] = emf[dimension];
    }
    for (const metric of definition?.Metrics ?? []) fields[metric.Name] = emf[metric.Name];
    logger.debug('metric', fields);
  };
}
