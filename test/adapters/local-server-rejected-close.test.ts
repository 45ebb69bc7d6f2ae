import { DELETED } from '../../lambda/local/connection-registry';
import { closeServers, connectClient, memoryStores, SECRET, startTestServer, TestClient } from '../support/local-server';
import { RecordingServer } from '../support/rpc-test-server';

afterEach(closeServers);

const UNAUTHORIZED = { type: 'disconnect', reason: 'unauthorized', reconnect: false };
/** Far below the server's idle cut (10 minutes), the only other way this socket could close. */
const CLOSE_WITHIN_MS = 5_000;

/**
 * How the socket closed, or `'still open'` if nobody closed it in time. The raw `ws` client never
 * closes on its own (unlike @rails/actioncable after a `disconnect` frame), so a close seen here
 * is the server's: the deliver function's DELETE @connections after the frames.
 */
async function closedByServer(client: TestClient): Promise<{ code: number; reason: string } | 'still open'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'still open'>((resolve) => (timer = setTimeout(() => resolve('still open'), CLOSE_WITHIN_MS)));
  try {
    return await Promise.race([client.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('rejected connection: the server closes it', () => {
  test('enforceJwt: a client without a token is sent disconnect unauthorized, then the server closes the socket', async () => {
    const server = await startTestServer({ settings: { secret: SECRET, enforceJwt: true } });
    const client = await connectClient(server.url);

    expect(await closedByServer(client)).toEqual(DELETED);
    expect(client.messages).toEqual([UNAUTHORIZED]);
    expect(memoryStores(server).connections.records.size).toBe(0);
  }, 15_000);

  test('rpc: a connection the app rejects is sent the app\'s disconnect unauthorized, then the server closes the socket', async () => {
    const app = new RecordingServer();
    app.handler = (_request, res) => res.writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ status: 2, transmissions: [JSON.stringify(UNAUTHORIZED)] }));
    const rpcUrl = await app.start();
    try {
      const server = await startTestServer({ settings: { secret: SECRET }, rpc: { url: `${rpcUrl}/_anycable` } });
      const client = await connectClient(server.url);

      expect(await closedByServer(client)).toEqual(DELETED);
      expect(client.messages).toEqual([UNAUTHORIZED]);
      expect(memoryStores(server).connections.records.size).toBe(0);
    } finally {
      await app.stop();
    }
  }, 15_000);
});
