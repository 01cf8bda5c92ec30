import { useEffect, useState } from 'preact/hooks';
import type { Execution, ExecutionStatus } from '../sdk/browser.js';
import type { ConsoleApi } from './api.js';

/** What the jobs table shows of a job's recent runs. */
export interface JobStats {
  last: { status: ExecutionStatus; at: string; executionId: string } | null;
  /** Statuses of the most recent runs, newest first. */
  statuses: ExecutionStatus[];
  loadedAt: number;
}

/** Runs read per job for its share of successes. */
export const STATS_RUNS = 20;
/** Reads in flight at once, so a screenful of rows does not flood the service. */
const CONCURRENCY = 4;

/**
 * Recent-run statistics of the jobs whose rows are on screen: read lazily when a row becomes visible
 * (an IntersectionObserver), cached, and re-read by `refreshVisible` (the list's polling) only for rows
 * still visible. A thousand loaded jobs cost as many reads as the rows a user actually looks at.
 */
export class JobStatsStore {
  private readonly cache = new Map<string, JobStats>();
  private readonly visible = new Set<string>();
  private readonly queued: string[] = [];
  private readonly inFlight = new Set<string>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly observer: IntersectionObserver;
  private readonly ids = new WeakMap<Element, string>();

  constructor(private readonly api: ConsoleApi) {
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const jobId = this.ids.get(entry.target);
        if (jobId === undefined) continue;
        if (entry.isIntersecting) {
          this.visible.add(jobId);
          if (!this.cache.has(jobId)) this.enqueue(jobId);
        } else {
          this.visible.delete(jobId);
        }
      }
    });
  }

  get(jobId: string): JobStats | undefined {
    return this.cache.get(jobId);
  }

  /** Watches a row; returns the function that stops watching it. */
  observe(element: Element, jobId: string, onChange: () => void): () => void {
    this.ids.set(element, jobId);
    this.observer.observe(element);
    let set = this.listeners.get(jobId);
    if (!set) {
      set = new Set();
      this.listeners.set(jobId, set);
    }
    set.add(onChange);
    return () => {
      this.observer.unobserve(element);
      this.visible.delete(jobId);
      set.delete(onChange);
    };
  }

  /** Re-reads the visible rows' statistics (the list's refresh). */
  refreshVisible(): void {
    for (const jobId of this.visible) this.enqueue(jobId);
  }

  /** A job's runs changed (a run started from the console): forget what was read. */
  invalidate(jobId: string): void {
    this.cache.delete(jobId);
  }

  dispose(): void {
    this.observer.disconnect();
    this.queued.length = 0;
  }

  private enqueue(jobId: string): void {
    if (this.inFlight.has(jobId) || this.queued.includes(jobId)) return;
    this.queued.push(jobId);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight.size < CONCURRENCY && this.queued.length > 0) {
      const jobId = this.queued.shift() as string;
      // A row scrolled away before its turn waits until it is seen again.
      if (!this.visible.has(jobId)) continue;
      this.inFlight.add(jobId);
      this.api.client.jobs
        .getExecutions(jobId, { limit: STATS_RUNS })
        .then(
          (page) => this.store(jobId, page.executions),
          () => undefined, // the row shows no statistics; the next refresh tries again
        )
        .finally(() => {
          this.inFlight.delete(jobId);
          this.pump();
        });
    }
  }

  private store(jobId: string, executions: Execution[]): void {
    const newest = executions[0];
    this.cache.set(jobId, {
      last: newest
        ? { status: newest.status, at: newest.created_at, executionId: newest.execution_id }
        : null,
      statuses: executions.map((execution) => execution.status),
      loadedAt: Date.now(),
    });
    for (const listener of this.listeners.get(jobId) ?? []) listener();
  }
}

/** A row's statistics, re-rendering only that row when they arrive. */
export function useJobStats(
  store: JobStatsStore,
  jobId: string,
  row: { current: Element | null },
): JobStats | undefined {
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (!row.current) return;
    return store.observe(row.current, jobId, () => setVersion((version) => version + 1));
  }, [store, jobId, row]);
  return store.get(jobId);
}
