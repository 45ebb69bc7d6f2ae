import { RecordingDispatcher } from './broadcast-support';
import { Behaviour, connection, pingWorld } from './ping-support';
import { START_MS } from './support';
import { BroadcastHttpDeps, handleBroadcastHttp } from '../../lambda/core/broadcast-http';
import { remoteDisconnect } from '../../lambda/core/remote-disconnect';

const ALICE = JSON.stringify({ current_user: 'gid://app/User/1' });
const BOB = JSON.stringify({ current_user: 'gid://app/User/2' });

async function world(script: Parameters<typeof pingWorld>[0] = {}) {
  const w = pingWorld(script);
  await w.connections.put(connection('alice-tab-1', START_MS, { identifiers: ALICE }));
  await w.connections.put(connection('alice-tab-2', START_MS, { identifiers: ALICE }));
  await w.connections.put(connection('bob', START_MS, { identifiers: BOB }));
  await w.connections.put(connection('anonymous', START_MS));
  for (const id of ['alice-tab-1', 'alice-tab-2', 'bob', 'anonymous']) {
    await w.subscriptions.add({ stream: 'room', connectionId: id, identifier: '{"channel":"Room"}', expiresAt: 0 });
  }
  return w;
}

describe('remoteDisconnect', () => {
  test.each<{ name: string; identifier: string; reconnect: boolean; closed: string[] }>([
    { name: 'every connection with exactly those identifiers is closed (two tabs: both)', identifier: ALICE, reconnect: false, closed: ['alice-tab-1', 'alice-tab-2'] },
    { name: 'reconnect: true is passed on in the frame', identifier: BOB, reconnect: true, closed: ['bob'] },
    { name: 'the same identifiers with other key order do not match (compared as text, as anycable-go does)', identifier: '{ "current_user":"gid://app/User/2"}', reconnect: false, closed: [] },
    { name: 'no identifiers match: nothing happens (connections carry none until identification exists)', identifier: '{}', reconnect: false, closed: [] },
  ])('$name', async ({ identifier, reconnect, closed }) => {
    const w = await world();
    const result = await remoteDisconnect(w.deps, { command: 'disconnect', identifier, reconnect });
    expect(result).toEqual({ connections: closed.length, disconnected: closed.length, gone: 0, failed: 0 });
    expect(w.recorder.calls.filter((c) => c.kind === 'close').map((c) => c.connectionId).sort()).toEqual(closed);
    for (const id of closed) {
      expect(w.recorder.calls.filter((c) => c.connectionId === id).map((c) => [c.kind, c.frame])).toEqual([
        ['send', { type: 'disconnect', reason: 'remote', reconnect }],
        ['close', undefined],
      ]);
    }
  });

  test('a matching connection already gone (410) has its rows removed and is counted as gone', async () => {
    const w = await world({ script: { 'alice-tab-2': 'gone' } });
    const result = await remoteDisconnect(w.deps, { command: 'disconnect', identifier: ALICE, reconnect: false });
    expect(result).toEqual({ connections: 2, disconnected: 1, gone: 1, failed: 0 });
    expect(w.connections.records.has('alice-tab-2')).toBe(false);
    expect(w.subscriptions.all().map((s) => s.connectionId)).not.toContain('alice-tab-2');
  });

  test('a matching connection that cannot be reached (not 410) is counted as failed, logged with its error, and the others are still closed', async () => {
    const w = await world({ script: { 'alice-tab-1': 'permanent' } });
    const result = await remoteDisconnect(w.deps, { command: 'disconnect', identifier: ALICE, reconnect: false });
    expect(result).toEqual({ connections: 2, disconnected: 1, gone: 0, failed: 1 });
    // Its rows stay: it may still be open, and its own `$disconnect` removes them.
    expect(w.connections.records.has('alice-tab-1')).toBe(true);
    expect(w.recorder.calls.filter((c) => c.kind === 'close').map((c) => c.connectionId)).toEqual(['alice-tab-2']);
    expect(w.logger.entries.filter((e) => e.event === 'remote_disconnect.failed')).toEqual([
      { level: 'warn', event: 'remote_disconnect.failed', fields: { connectionId: 'alice-tab-1', error: expect.objectContaining({ name: 'BadRequestException' }) } },
    ]);
  });

  test('a gone connection whose clean-up fails is still counted as gone, the failure logged, and the others are still closed', async () => {
    const w = await world({ script: { 'alice-tab-1': 'gone' } });
    const cleanupError = new Error('ProvisionedThroughputExceededException');
    w.subscriptions.removeAll = () => Promise.reject(cleanupError);
    const result = await remoteDisconnect(w.deps, { command: 'disconnect', identifier: ALICE, reconnect: false });
    expect(result).toEqual({ connections: 2, disconnected: 1, gone: 1, failed: 0 });
    expect(w.recorder.calls.filter((c) => c.kind === 'close').map((c) => c.connectionId)).toEqual(['alice-tab-2']);
    expect(w.logger.entries.filter((e) => e.event === 'remote_disconnect.cleanup_failed')).toEqual([
      { level: 'warn', event: 'remote_disconnect.cleanup_failed', fields: { connectionId: 'alice-tab-1', error: cleanupError } },
    ]);
  });

  test.each<{ name: string; script: Record<string, Behaviour>; level: 'info' | 'warn'; counts: object }>([
    { name: 'all closed: info', script: {}, level: 'info', counts: { connections: 2, disconnected: 2, gone: 0, failed: 0 } },
    { name: 'one already gone: info (its rows were removed, nothing is wrong)', script: { 'alice-tab-1': 'gone' }, level: 'info', counts: { connections: 2, disconnected: 1, gone: 1, failed: 0 } },
    { name: 'one unreachable: warn', script: { 'alice-tab-1': 'permanent' }, level: 'warn', counts: { connections: 2, disconnected: 1, gone: 0, failed: 1 } },
  ])('the remote_disconnect log line has the counts, reconnect and the identifier\'s size; $name', async ({ script, level, counts }) => {
    const w = await world({ script });
    await remoteDisconnect(w.deps, { command: 'disconnect', identifier: ALICE, reconnect: true });
    expect(w.logger.entries.filter((e) => e.event === 'remote_disconnect')).toEqual([
      { level, event: 'remote_disconnect', fields: { ...counts, reconnect: true, identifierBytes: Buffer.byteLength(ALICE) } },
    ]);
  });
});

describe('POST /_broadcast {"command":"disconnect"}', () => {
  async function post(body: unknown) {
    const w = await world();
    const deps: BroadcastHttpDeps = { ...w.deps, shards: new RecordingDispatcher(), publicBroadcasts: true };
    const response = await handleBroadcastHttp(deps, { method: 'POST', path: '/_broadcast', headers: {}, body: JSON.stringify(body) });
    return { w, response };
  }

  test('anycable-rails\' remote_connections.where(...).disconnect: 201 with the count, the matching connections closed', async () => {
    const { w, response } = await post({ command: 'disconnect', payload: { identifier: ALICE, reconnect: true } });
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body)).toEqual({ command: 'disconnect', connections: 2, disconnected: 2, gone: 0, failed: 0 });
    expect(w.recorder.framesByConnection()).toEqual({
      'alice-tab-1': [{ type: 'disconnect', reason: 'remote', reconnect: true }],
      'alice-tab-2': [{ type: 'disconnect', reason: 'remote', reconnect: true }],
    });
  });

  test('no match: 201 with 0, nothing sent', async () => {
    const { w, response } = await post({ command: 'disconnect', payload: { identifier: '{"current_user":"nobody"}' } });
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body)).toMatchObject({ connections: 0 });
    expect(w.recorder.calls).toEqual([]);
  });

  test('a failed lookup: 500, the sender sees it', async () => {
    const w = await world();
    const connections = Object.assign(Object.create(Object.getPrototypeOf(w.connections)), w.connections, {
      findByIdentifiers: () => Promise.reject(new Error('ResourceNotFoundException')),
    });
    const deps: BroadcastHttpDeps = { ...w.deps, connections, shards: new RecordingDispatcher(), publicBroadcasts: true };
    const response = await handleBroadcastHttp(deps, {
      method: 'POST', path: '/_broadcast', headers: {}, body: JSON.stringify({ command: 'disconnect', payload: { identifier: ALICE } }),
    });
    expect(response.status).toBe(500);
    expect(w.logger.events()).toContain('remote_disconnect.failed_lookup');
  });
});
