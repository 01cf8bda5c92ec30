import type {
  AlertStore,
  ChannelNotifier,
  ChannelStore,
  Clock,
  DeploymentConfig,
  EventPublisher,
  ExecutionStore,
  JobStore,
  Logger,
  Metrics,
  SecretBox,
} from '../ports.js';
import { AlertService } from './alert-service.js';
import { ChannelService } from './channel-service.js';
import { NotificationDelivery } from './notification-delivery.js';
import type { RunEvents } from './run-events.js';
import { observeRunOutcomes } from './run-outcomes.js';

/** The adapters alerting is made of. */
export interface AlertingAdapters {
  jobs: JobStore;
  executions: ExecutionStore;
  alerts: AlertStore;
  channels: ChannelStore;
  secrets: SecretBox;
  notifier: ChannelNotifier;
  deployment: DeploymentConfig;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** EventBridge on AWS. */
  events?: EventPublisher;
  /** Puts run ends on `events`, as the deployment's setting asks. */
  runEvents?: RunEvents;
}

/** Alerting's services, built once per runtime. */
export interface Alerting {
  alerts: AlertService;
  channels: ChannelService;
  delivery: NotificationDelivery;
  /**
   * `executions`, telling the alert service of every run's end (see `observeRunOutcomes`); `rethrow` where
   * a failure to handle it should fail the queue message (the workers).
   */
  observed(executions: ExecutionStore, options: { rethrow: boolean }): ExecutionStore;
}

export function buildAlerting(adapters: AlertingAdapters): Alerting {
  const delivery = new NotificationDelivery(adapters);
  const alerts = new AlertService({
    ...adapters,
    // Read when an event is decided: the worker's is the service's public address.
    get publicBaseUrl() {
      return adapters.deployment.publicBaseUrl;
    },
  });
  return {
    alerts,
    delivery,
    channels: new ChannelService({ ...adapters, delivery }),
    observed: (executions, { rethrow }) =>
      observeRunOutcomes(executions, alerts, { logger: adapters.logger, rethrow }),
  };
}
