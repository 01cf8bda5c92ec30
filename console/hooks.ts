import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { AuthError } from '../sdk/browser.js';
import type { ConsoleApi } from './api.js';

/** What every view needs: the API, and a way out when the key stops working. */
export interface Session {
  api: ConsoleApi;
  /** Forgets the key and returns to sign-in, showing `reason` when given. */
  signOut: (reason?: string) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}

/** An API call's failure as the console shows it; a refused key signs out instead. */
export function useErrorHandler(): (error: unknown) => unknown {
  const { signOut } = useSession();
  return useCallback(
    (error: unknown) => {
      if (error instanceof AuthError) signOut(`The service refused the API key: ${error.message}`);
      return error;
    },
    [signOut],
  );
}

export interface Loaded<T> {
  data: T | undefined;
  /** The last load's failure; earlier data stays shown beside it. */
  error: unknown;
  /** When the data was last loaded (epoch ms). */
  updatedAt: number | null;
  reload: () => Promise<void>;
}

/** Whether the page is visible: polling stops while the tab is hidden. */
const pageVisible = () => document.visibilityState === 'visible';

/**
 * Loads data for a view and, with `pollMs`, reloads it while the view is open and the tab visible.
 * A reload replaces the data in place (keyed lists keep their rows, focus and scroll position); a change
 * of `deps` starts over; a change of `refreshKey` reloads in place (after an action changed the data).
 * `pollMs` may depend on the data (poll fast while a run is active, stop after).
 */
export function useLoader<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  options: { pollMs?: number | ((data: T | undefined) => number | null); refreshKey?: unknown } = {},
): Loaded<T> {
  const handle = useErrorHandler();
  const [state, setState] = useState<{ data: T | undefined; error: unknown; updatedAt: number | null }>({
    data: undefined,
    error: null,
    updatedAt: null,
  });
  const generation = useRef(0);
  const latest = useRef({ load, options });
  latest.current = { load, options };
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const dataRef = useRef<T | undefined>(undefined);

  const run = useCallback(async () => {
    const mine = generation.current;
    clearTimeout(timer.current);
    try {
      const data = await latest.current.load();
      if (mine !== generation.current) return;
      dataRef.current = data;
      setState({ data, error: null, updatedAt: Date.now() });
    } catch (error) {
      if (mine !== generation.current) return;
      setState((previous) => ({ ...previous, error: handle(error) }));
    }
    if (mine !== generation.current) return;
    const { pollMs } = latest.current.options;
    const every = typeof pollMs === 'function' ? pollMs(dataRef.current) : pollMs;
    if (every && pageVisible()) timer.current = setTimeout(() => void run(), every);
  }, [handle]);

  useEffect(() => {
    generation.current++;
    dataRef.current = undefined;
    setState({ data: undefined, error: null, updatedAt: null });
    void run();
    const onVisibility = () => {
      if (pageVisible()) void run();
      else clearTimeout(timer.current);
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      generation.current++;
      clearTimeout(timer.current);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, deps);

  const firstRefresh = useRef(true);
  useEffect(() => {
    if (firstRefresh.current) {
      firstRefresh.current = false;
      return;
    }
    void run();
  }, [options.refreshKey]);

  return { ...state, reload: run };
}

/** Runs an action (a button's), tracking whether it is in flight and what it failed with. */
export function useAction<A extends unknown[], R>(
  action: (...args: A) => Promise<R>,
): { run: (...args: A) => Promise<R | undefined>; busy: boolean; error: unknown; clear: () => void } {
  const handle = useErrorHandler();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      return await action(...args);
    } catch (caught) {
      setError(handle(caught));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, clear: () => setError(null) };
}

/** A clock for relative times, ticking every `ms` while the tab is visible. */
export function useNow(ms = 15_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => {
      if (pageVisible()) setNow(Date.now());
    }, ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}
