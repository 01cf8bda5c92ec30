import { describe, expect, it } from 'vitest';
import { changeExpression, docOf, fromItem, toItem } from '../../shared/adapters/aws/execution-item.js';
import type { Execution } from '../../shared/domain/execution.js';

const NOW = '2026-03-01T12:00:00.000Z';
const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:orders:exec_0m5z2b7qa00000000000000000001';

function execution(): Execution {
  return {
    execution_id: 'exec_0m5z2b7qa00000000000000000001',
    workflow_id: 'wf_0m5z2b7qa00000000000000000001',
    job_id: 'job_1',
    job_name: 'orders',
    status: 'running',
    trigger_type: 'manual',
    parameters: {},
    prompt: 'Ship',
    system_prompt: null,
    config: {},
    entity_id: 'orders',
    entity_type: 'workflow',
    queue: 'default',
    environment_name: null,
    metadata: {},
    dedupe_key: null,
    scheduled_at: null,
    lateness_ms: null,
    attempt: 1,
    max_attempts: 1,
    created_at: NOW,
    started_at: NOW,
    finished_at: null,
    duration_ms: null,
    deadline_at: '2026-03-01T13:00:00.000Z',
    error_message: null,
    output: null,
    output_truncated: false,
  };
}

describe('execution items: the started work of a run', () => {
  it('keep no target_execution_arn until a transition sets it, then keep and answer it', () => {
    // Prepare
    const item = toItem(execution(), { expiresAt: 0, exclusive: false });
    const before = fromItem(item).execution;

    // Act
    const { set, remove } = changeExpression(before.execution_id, { target_execution_arn: ARN }, docOf(item));
    const after = fromItem({ ...item, ...set }).execution;

    // Assess
    expect(before).not.toHaveProperty('target_execution_arn');
    expect(set).toEqual({ tx: ARN });
    expect(remove).toEqual([]);
    expect(after).toEqual({ ...before, target_execution_arn: ARN });
    // Answered after the fields the schema lists before it.
    expect(Object.keys(after).at(-1)).toBe('target_execution_arn');
  });

  it('keep it out of the fixed document of a run created with one', () => {
    // Act
    const item = toItem({ ...execution(), target_execution_arn: ARN }, { expiresAt: 0, exclusive: false });

    // Assess
    expect(docOf(item).toString('utf8')).not.toContain(ARN);
    expect(item.tx).toBe(ARN);
    expect(fromItem(item).execution.target_execution_arn).toBe(ARN);
  });
});
