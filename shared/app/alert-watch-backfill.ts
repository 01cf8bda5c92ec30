import type { AlertStore, JobStore, Logger } from '../ports.js';

export interface AlertWatchBackfillDeps {
  jobs: JobStore;
  alerts: AlertStore;
  logger: Logger;
}

/** How much one pass reads. */
export interface AlertWatchBackfillOptions {
  /** Cron jobs per page. @default 100 */
  pageSize?: number;
  /** Pages per pass: a pass stays well inside a sweep's minute. @default 5 */
  pagesPerPass?: number;
}

/**
 * Gives the cron jobs written before alerting existed the watch item their next write would give them, so
 * the sweeper checks them for missed fires from the start. Runs once per deployment: a pass goes through up
 * to `pagesPerPass` pages of enabled cron jobs, keeps its place in the store, and marks the backfill done after
 * the last page; this process then never asks again. Each item is written only if the job is unchanged since
 * it was read and has none, so a job written meanwhile keeps the item its own write gave it.
 */
export class AlertWatchBackfill {
  private done = false;
  private readonly pageSize: number;
  private readonly pagesPerPass: number;

  constructor(
    private readonly deps: AlertWatchBackfillDeps,
    options: AlertWatchBackfillOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 100;
    this.pagesPerPass = options.pagesPerPass ?? 5;
  }

  /** One pass: the number of watch items written. */
  async pass(): Promise<number> {
    if (this.done) return 0;
    const progress = await this.deps.alerts.watchBackfill();
    if (progress.done) {
      this.done = true;
      return 0;
    }
    let cursor = progress.cursor;
    let written = 0;
    for (let page = 0; page < this.pagesPerPass; page++) {
      const { jobs, nextCursor } = await this.deps.jobs.list({
        trigger_type: 'cron',
        enabled: true,
        limit: this.pageSize,
        ...(cursor !== null && { cursor }),
      });
      for (const listed of jobs) {
        // The version the write is conditional on: the list does not carry it.
        const stored = await this.deps.jobs.get(listed.id);
        if (stored && (await this.deps.alerts.watchIfUnwatched(stored.job, stored.version))) {
          written++;
          this.deps.logger.info('cron job written before alerting now watched for missed fires', {
            jobId: listed.id,
          });
        }
      }
      cursor = nextCursor;
      await this.deps.alerts.saveWatchBackfill({ done: cursor === null, cursor });
      if (cursor === null) {
        this.done = true;
        break;
      }
    }
    return written;
  }
}
