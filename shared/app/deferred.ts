/**
 * An input a use case may read late: the value, or how to read it. The HTTP layer passes a reader where
 * a request's body must not be validated before the use case has checked something first (the caller's
 * token, or that the thing to change exists), so that check decides the answer whatever the body holds.
 */
export type Deferred<T> = T | (() => T);

/** The value of a deferred input, reading it now if it is a reader. */
export function readDeferred<T>(input: Deferred<T>): T {
  return typeof input === 'function' ? (input as () => T)() : input;
}
