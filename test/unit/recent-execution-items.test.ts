import { describe, expect, it } from 'vitest';
import { docOf, toItem } from '../../shared/adapters/aws/execution-item.js';
import { afterUpdate, RecentExecutionItems } from '../../shared/adapters/aws/recent-execution-items.js';
import type { Execution } from '../../shared/domain/execution.js';

function item(id: string): Record<string, unknown> {
  const execution: Execution = {
    execution_id: id,
    workflow_id: `wf_${id.slice('exec_'.length)}`,
    job_id: 'job_1',
    job_name: 'orders',
    status: 'queued',
    trigger_type: 'manual',
    parameters: { id },
    prompt: 'Ship',
    system_prompt: null,
    config: {},
    entity_id: 'orders',
    entity_type: 'agent',
    queue: 'default',
    environment_name: null,
    metadata: {},
    dedupe_key: null,
    scheduled_at: null,
    lateness_ms: null,
    attempt: 1,
    max_attempts: 1,
    created_at: '2026-03-01T12:00:00.000Z',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    deadline_at: null,
    error_message: null,
    output: null,
    output_truncated: false,
  };
  return toItem(execution, { expiresAt: 0, exclusive: false });
}

describe('RecentExecutionItems', () => {
  it('keeps the last item of a run with the doc inflated first', () => {
    // Prepare
    const recent = new RecentExecutionItems(2);
    const first = item('exec_1');
    const later = { ...first, st: 'running', v: 1 };

    // Act
    recent.remember('exec_1', first);
    recent.remember('exec_1', later);

    // Assess
    expect(recent.item('exec_1')).toBe(later);
    expect(recent.doc('exec_1')).toBe(docOf(first));
  });

  it('drops the run first seen longest ago past its size, however lately it was seen again', () => {
    // Prepare
    const recent = new RecentExecutionItems(2);
    recent.remember('exec_1', item('exec_1'));
    recent.remember('exec_2', item('exec_2'));
    recent.remember('exec_1', item('exec_1'));

    // Act
    recent.remember('exec_3', item('exec_3'));

    // Assess
    expect(recent.item('exec_1')).toBeUndefined();
    expect(recent.item('exec_2')).toBeDefined();
    expect(recent.item('exec_3')).toBeDefined();
  });

  it('forgets a run on request', () => {
    // Prepare
    const recent = new RecentExecutionItems();
    recent.remember('exec_1', item('exec_1'));

    // Act
    recent.forget('exec_1');

    // Assess
    expect(recent.item('exec_1')).toBeUndefined();
    expect(recent.doc('exec_1')).toBeUndefined();
  });
});

describe('afterUpdate', () => {
  it('sets what the update answered and drops what it removed, leaving the item it started from as it was', () => {
    // Prepare
    const known = { sk: 'EXEC#exec_1', st: 'running', at: 1, ls: 'lease', cb: 'hash', v: 1 };

    // Act
    const after = afterUpdate(known, { st: 'queued', at: 2, v: 2 }, ['ls', 'cb']);

    // Assess
    expect(after).toEqual({ sk: 'EXEC#exec_1', st: 'queued', at: 2, v: 2 });
    expect(known).toEqual({ sk: 'EXEC#exec_1', st: 'running', at: 1, ls: 'lease', cb: 'hash', v: 1 });
  });
});
