import type { TimerClock } from '../../infra/local/timer-clock.js';

interface VirtualTimer {
  at: number;
  /** Timers due at the same instant fire in the order they were set. */
  sequence: number;
  callback: () => void;
}

/** Timer callbacks one `advanceTo` may run before it decides something re-arms itself forever. */
const MAX_FIRES_PER_ADVANCE = 1_000_000;

/** Lets every promise callback queued so far run (a real macrotask turn: the virtual clock fakes nothing else). */
const flush = () => new Promise<void>((resolveFlush) => setImmediate(resolveFlush));

/**
 * A `TimerClock` whose time moves only when a test says so. `advanceTo` fires the due timers in time
 * order, with `now()` set to each timer's instant while it runs, and after each one waits until the
 * work it started has settled (one macrotask turn, then every `onSettle` hook, e.g. `scheduler.idle()`),
 * so what a test sees after an advance does not depend on timing. `jump` moves time without firing
 * anything, like a machine that sleeps: the overdue timers then fire late, at the next advance.
 */
export class VirtualClock implements TimerClock {
  private current: number;
  private sequence = 0;
  private readonly timers = new Set<VirtualTimer>();
  private readonly settleHooks = new Set<() => Promise<void>>();

  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
    if (!Number.isFinite(this.current)) throw new RangeError(`Invalid start instant: ${String(start)}`);
  }

  now(): Date {
    return new Date(this.current);
  }

  setTimer(at: Date, callback: () => void): () => void {
    const timer: VirtualTimer = { at: at.getTime(), sequence: this.sequence++, callback };
    this.timers.add(timer);
    return () => {
      this.timers.delete(timer);
    };
  }

  /** When the armed timers are due, earliest first. */
  pendingTimers(): Date[] {
    return this.ordered().map((timer) => new Date(timer.at));
  }

  /** Adds a hook awaited after every fired timer; returns a function that removes it. */
  onSettle(hook: () => Promise<void>): () => void {
    this.settleHooks.add(hook);
    return () => {
      this.settleHooks.delete(hook);
    };
  }

  /** Moves time to `target`, firing every timer due by then (late ones at the current time), in order. */
  async advanceTo(target: Date | string): Promise<void> {
    const until = new Date(target).getTime();
    if (!(until >= this.current)) throw new RangeError('The virtual clock only moves forward.');
    await this.settle();
    for (let fired = 0; ; fired++) {
      if (fired >= MAX_FIRES_PER_ADVANCE) throw new Error('Timers keep re-arming at or before the target.');
      const due = this.ordered()[0];
      if (!due || due.at > until) break;
      this.timers.delete(due);
      this.current = Math.max(this.current, due.at);
      due.callback();
      await this.settle();
    }
    this.current = until;
  }

  /** `advanceTo(now + ms)`. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(new Date(this.current + ms));
  }

  /** Moves time forward by `ms` without firing any timer (a machine asleep); `advance(0)` then fires the overdue ones. */
  jump(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('The virtual clock only moves forward.');
    this.current += ms;
  }

  /** One macrotask turn, then every settle hook. */
  async settle(): Promise<void> {
    await flush();
    for (const hook of this.settleHooks) await hook();
  }

  private ordered(): VirtualTimer[] {
    return [...this.timers].sort((a, b) => a.at - b.at || a.sequence - b.sequence);
  }
}
