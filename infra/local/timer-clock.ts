import type { Clock } from '../../shared/ports.js';

/** A clock that can also call back at an instant: what the local scheduler waits on. */
export interface TimerClock extends Clock {
  /**
   * Calls `callback` once, when `now()` has reached `at` (soon after, asynchronously, if it already has).
   * Returns a function that cancels the call if it has not happened yet.
   */
  setTimer(at: Date, callback: () => void): () => void;
}

/**
 * Longest single wait of `systemTimerClock`. Node's timers run on the monotonic clock, which stops while
 * the machine sleeps and ignores wall-clock changes; waking at least this often and checking the wall
 * clock notices both within a minute. It also keeps every delay under setTimeout's 2^31 ms limit.
 */
export const MAX_TIMER_WAIT_MS = 60_000;

/**
 * The system clock, with timers that wait in steps of at most `MAX_TIMER_WAIT_MS` until the wall clock
 * reaches the instant. Timers are `unref()`ed: a pending one does not keep the process alive.
 */
export const systemTimerClock: TimerClock = {
  now: () => new Date(),
  setTimer(at, callback) {
    const target = at.getTime();
    let handle: ReturnType<typeof setTimeout> | undefined;
    const wait = () => {
      const remaining = target - Date.now();
      handle = setTimeout(check, Math.min(Math.max(remaining, 0), MAX_TIMER_WAIT_MS));
      handle.unref();
    };
    const check = () => {
      // A wait can end early (it was capped, or the wall clock was set back): wait again for the rest.
      if (Date.now() < target) {
        wait();
        return;
      }
      handle = undefined;
      callback();
    };
    wait();
    return () => {
      if (handle !== undefined) clearTimeout(handle);
      handle = undefined;
    };
  },
};
