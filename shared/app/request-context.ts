import { AsyncLocalStorage } from 'node:async_hooks';
import type { Caller } from '../domain/access.js';

/*
 * The caller of the request being served, for the code that records who did what (the audit trail),
 * without every service method taking it as an argument. Set by the router once the caller is
 * authenticated; an AsyncLocalStorage scope, so concurrent requests in one process (the local runtime)
 * each see their own.
 */
const callers = new AsyncLocalStorage<Caller>();

/** Runs `work` on behalf of `caller`. */
export function asCaller<T>(caller: Caller, work: () => T): T {
  return callers.run(caller, work);
}

/** The caller of the request being served; undefined outside one (the sweeper, a schedule). */
export function currentCaller(): Caller | undefined {
  return callers.getStore();
}
