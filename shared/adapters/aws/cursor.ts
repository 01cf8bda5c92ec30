import { BadRequestError } from '../../domain/errors.js';

/** An opaque page cursor: base64url JSON of the last item's sort key. */
export function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

/** The sort key inside a cursor, if it has the shape `pattern` accepts; otherwise a 400 naming `cursor`. */
export function decodeCursor(cursor: string, pattern: RegExp): RegExpExecArray {
  let after: unknown;
  try {
    if (cursor.length > 1024) throw new RangeError('too long');
    after = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    after = undefined;
  }
  const match = typeof after === 'string' ? pattern.exec(after) : null;
  if (!match) {
    throw new BadRequestError(
      'cursor is not a cursor this service issued; pass next_cursor as returned.',
      'invalid_cursor',
      [{ path: 'cursor', message: 'is not a cursor this service issued', code: 'invalid_cursor' }],
    );
  }
  return match;
}
