/** The parts of a WebSocket upgrade request the core looks at, independent of who parsed it. */
export interface ConnectRequest {
  readonly connectionId: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly url?: string;
  /** The client's IP address (API Gateway's `requestContext.identity.sourceIp`). */
  readonly remoteAddress?: string;
}

/** Caps what is stored of a request: a connection row must stay far below DynamoDB's 400 KB. */
export const MAX_STORED_HEADER_BYTES = 8 * 1024;
export const MAX_STORED_QUERY_BYTES = 4 * 1024;

/** Headers API Gateway adds or that are useless later; never stored. */
const DROPPED_HEADERS = new Set(['sec-websocket-key', 'sec-websocket-extensions', 'sec-websocket-version', 'connection', 'upgrade']);

/**
 * Keeps entries within a byte budget, smallest first, so one oversized value (a huge cookie)
 * is what gets dropped rather than the small headers after it (`origin`, `host`). An entry
 * that does not fit is dropped whole; the kept ones stay in their original order.
 */
export function boundEntries(entries: Readonly<Record<string, string>>, budget: number, skip?: Set<string>): Record<string, string> {
  const sized = Object.entries(entries)
    .filter(([name]) => !skip?.has(name))
    .map(([name, value], index) => ({ name, value, index, size: Buffer.byteLength(name) + Buffer.byteLength(value) }))
    .sort((a, b) => a.size - b.size || a.index - b.index);
  const fitting: typeof sized = [];
  let used = 0;
  for (const entry of sized) {
    if (used + entry.size > budget) break;
    fitting.push(entry);
    used += entry.size;
  }
  fitting.sort((a, b) => a.index - b.index);
  return Object.fromEntries(fitting.map(({ name, value }) => [name, value]));
}

export function storedHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return boundEntries(headers, MAX_STORED_HEADER_BYTES, DROPPED_HEADERS);
}

export function storedQuery(query: Readonly<Record<string, string>>): Record<string, string> {
  return boundEntries(query, MAX_STORED_QUERY_BYTES);
}

/** The subprotocols a client offers, in order. */
export function offeredSubprotocols(headers: Readonly<Record<string, string>>): string[] {
  const raw = headers['sec-websocket-protocol'];
  if (!raw) return [];
  return raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
}
