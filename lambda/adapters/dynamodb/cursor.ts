/**
 * Page cursors of the stores: DynamoDB's `LastEvaluatedKey` as base64url JSON, safe in a URL or
 * an event payload without escaping. Each store checks that a decoded key is one of its own.
 */
export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The object a cursor holds, or undefined when it is not one (not base64url JSON of an object). */
export function decodeCursor(cursor: string): Record<string, unknown> | undefined {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof key === 'object' && key !== null ? key as Record<string, unknown> : undefined;
}
