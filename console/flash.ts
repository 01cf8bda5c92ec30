/**
 * Secrets the service returns once (a webhook job's secret on creation, an entity's signing secret),
 * handed from the view that received them to the view shown next. Kept in memory only and taken once:
 * never written to storage or the URL.
 */
const pending = new Map<string, { label: string; value: string }>();

export const flash = {
  put(key: string, label: string, value: string): void {
    pending.set(key, { label, value });
  },
  take(key: string): { label: string; value: string } | undefined {
    const found = pending.get(key);
    pending.delete(key);
    return found;
  },
};
