import { docOf } from './execution-item.js';

/** Runs a process keeps the last item of (about 1 KB each, and the inflated doc). */
export const RECENT_ITEMS_SIZE = 2_000;

interface Recent {
  item: Record<string, unknown>;
  /** The item's doc, inflated once: it never changes after the run is created. */
  doc: Buffer;
}

/**
 * The last item this process saw of each run it wrote or read lately: what the put that created it wrote,
 * what a read found, what a claim or transition answered. A transition of such a run asks DynamoDB only
 * for the attributes it changes; the doc is the dictionary a run's output is packed with, and spares
 * inflating it again when the run is read. Bounded: past `size` runs, the one first seen longest ago goes.
 */
export class RecentExecutionItems {
  private readonly recent = new Map<string, Recent>();

  constructor(private readonly size = RECENT_ITEMS_SIZE) {}

  item(executionId: string): Record<string, unknown> | undefined {
    return this.recent.get(executionId)?.item;
  }

  doc(executionId: string): Buffer | undefined {
    return this.recent.get(executionId)?.doc;
  }

  /** `item` is the whole item as it stands now; it is kept as given, so it must not be changed after. */
  remember(executionId: string, item: Record<string, unknown>): void {
    const known = this.recent.get(executionId);
    this.recent.set(executionId, { item, doc: known?.doc ?? docOf(item) });
    while (this.recent.size > this.size) {
      const oldest = this.recent.keys().next().value;
      if (oldest === undefined) return;
      this.recent.delete(oldest);
    }
  }

  forget(executionId: string): void {
    this.recent.delete(executionId);
  }
}

/**
 * The whole item after an update, from the item before it (`known`) and the update's `UPDATED_NEW`
 * answer: the attributes it set, as they now are. Attributes it removed are not in that answer, so
 * `removed` names them.
 */
export function afterUpdate(
  known: Record<string, unknown>,
  updated: Record<string, unknown>,
  removed: readonly string[],
): Record<string, unknown> {
  const item = { ...known, ...updated };
  for (const name of removed) delete item[name];
  return item;
}
