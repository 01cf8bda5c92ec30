import { BadRequestError } from '../../domain/errors.js';

/**
 * An opaque page cursor: base64url JSON of the last item's sort key and, when a request stopped at its
 * read ceiling while still skipping an `offset`, how many items are left to skip after it.
 */
export function encodeCursor(after: string, skip = 0): string {
  const position = skip > 0 ? { after, skip } : { after };
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** The sort key inside a cursor, if it has the shape `pattern` accepts; otherwise a 400 naming `cursor`. */
export function decodeCursor(cursor: string, pattern: RegExp): RegExpExecArray {
  return decodePosition(cursor, pattern, 0).after;
}

/**
 * The sort key inside a cursor and the items still to skip after it (0 to `maxSkip`); anything else is
 * a 400 naming `cursor`.
 */
export function decodePosition(
  cursor: string,
  pattern: RegExp,
  maxSkip: number,
): { after: RegExpExecArray; skip: number } {
  let position: { after?: unknown; skip?: unknown } | undefined;
  try {
    if (cursor.length > 1024) throw new RangeError('too long');
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof position;
  } catch {
    position = undefined;
  }
  const after = typeof position?.after === 'string' ? pattern.exec(position.after) : null;
  const skip = position?.skip ?? 0;
  if (!after || !Number.isSafeInteger(skip) || (skip as number) < 0 || (skip as number) > maxSkip) {
    throw new BadRequestError(
      'cursor is not a cursor this service issued; pass next_cursor as returned.',
      'invalid_cursor',
      [{ path: 'cursor', message: 'is not a cursor this service issued', code: 'invalid_cursor' }],
    );
  }
  return { after, skip: skip as number };
}
