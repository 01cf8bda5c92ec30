import { alertSettings } from '../domain/alert-policy.js';
import type { ErrorDetail } from '../domain/errors.js';
import type { ChannelStore } from '../ports.js';

/**
 * The channels a job's `config.alerts.channels` names that do not exist, one detail per element
 * (`config.alerts.channels[1]`). Only ids the write adds are looked up: a channel the job already named
 * may have been deleted since (deleting one is allowed, and the job's events then go to its other
 * channels, or to the default ones), and that must not make every later change of the job a 422.
 * `config` is already validated, so the ids are well-formed; at most ten, read at once.
 */
export async function unknownAlertChannels(
  config: Record<string, unknown>,
  previous: Record<string, unknown> | null,
  channels: Pick<ChannelStore, 'get'>,
): Promise<ErrorDetail[]> {
  const named = alertSettings(config).channels ?? [];
  const known = new Set(previous ? (alertSettings(previous).channels ?? []) : []);
  const checked = named.map((id, index) => ({ id, index })).filter(({ id }) => !known.has(id));
  const found = await Promise.all(checked.map(({ id }) => channels.get(id)));
  return checked
    .filter((_, position) => found[position] === null)
    .map(({ id, index }) => ({
      path: `config.alerts.channels[${index}]`,
      message: `is not a notification channel (no channel has the id "${id}")`,
      code: 'unknown_channel',
    }));
}
