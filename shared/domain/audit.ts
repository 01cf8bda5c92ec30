import * as z from 'zod/mini';
import { DISABLED_REASONS } from './job.js';

/*
 * The audit trail: who changed what, and when. An entry names the fields a change touched, never their
 * values, so a secret (a webhook secret, a signing secret, an API key) is never part of it.
 */

export const AUDITED_RESOURCES = ['job', 'entity', 'api_key', 'notification_channel'] as const;
export type AuditedResource = (typeof AUDITED_RESOURCES)[number];

export const AUDIT_ACTIONS = [
  'created',
  'updated',
  'enabled',
  'disabled',
  'deleted',
  'webhook_secret_rotated',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AuditActorSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('api_key'),
      name: z.string().register(z.globalRegistry, {
        description: "The key's name; `deployment` for the deployment's own key.",
      }),
    }),
    z.object({
      type: z.literal('iam'),
      arn: z.string().register(z.globalRegistry, {
        description: 'The IAM principal API Gateway authenticated (its user ARN).',
      }),
    }),
    z.object({ type: z.literal('system') }),
  ])
  .register(z.globalRegistry, {
    id: 'AuditActor',
    description:
      'Who made the change: an API key by name, an IAM principal by ARN, or the service itself (`system`).',
  });
export type AuditActor = z.infer<typeof AuditActorSchema>;

export const AuditEntrySchema = z
  .object({
    at: z.string().register(z.globalRegistry, { description: 'When the change was made.' }),
    action: z.enum(AUDIT_ACTIONS),
    resource: z.object({ type: z.enum(AUDITED_RESOURCES), id: z.string() }),
    actor: AuditActorSchema,
    changed_fields: z.array(z.string()).register(z.globalRegistry, {
      description:
        'The fields the change set or altered (for a creation, the fields given); names only, never values.',
    }),
    reason: z.optional(z.enum(DISABLED_REASONS)).register(z.globalRegistry, {
      description:
        'Why the service made the change itself (actor `system`): `consecutive_failures` when it paused a job after failed runs (`config.alerts.pause_after_failures`). Absent on changes callers made.',
    }),
  })
  .register(z.globalRegistry, { id: 'AuditEntry', description: 'One change, as the audit trail keeps it.' });
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const JobHistoryResponseSchema = z
  .object({
    history: z.array(AuditEntrySchema),
    next_cursor: z.nullable(z.string()),
  })
  .register(z.globalRegistry, { id: 'JobHistory', description: "A page of a job's changes, newest first." });

/** The top-level fields whose values differ between two documents (names only), sorted. */
export function changedFields(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((name) => JSON.stringify(a[name]) !== JSON.stringify(b[name])).sort();
}
