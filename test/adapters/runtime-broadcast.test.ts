import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { broadcast, broadcastAll, disconnectRemote } from '../../lambda/client/broadcast';

/** Lambda's Invoke API: records RequestResponse invocations and answers as configured. */
class FakeLambda {
  readonly invocations: Array<{ functionName: string; headers: IncomingHttpHeaders; payload: unknown }> = [];
  fail = false;
  answer = '{"delivered":2,"failed":0,"shards":0}';
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
      this.invocations.push({ functionName: decodeURIComponent(match?.[1] ?? ''), headers: req.headers, payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      if (this.fail) {
        res.writeHead(200, { 'x-amz-function-error': 'Unhandled', 'content-type': 'application/json' })
          .end(JSON.stringify({ errorType: 'Error', errorMessage: 'store down' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(this.answer);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('cdk-cable/runtime/broadcast', () => {
  const lambda = new FakeLambda();
  let client: LambdaClient;

  beforeAll(async () => {
    client = new LambdaClient({ endpoint: await lambda.start(), region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  });

  afterAll(async () => {
    client.destroy();
    await lambda.stop();
  });

  beforeEach(() => {
    lambda.invocations.length = 0;
    lambda.fail = false;
    lambda.answer = '{"delivered":2,"failed":0,"shards":0}';
  });

  test('broadcast: JSON-encodes the message like ActionCable.server.broadcast and invokes synchronously', async () => {
    await broadcast('chat:1', { html: '<p>hi</p>' }, { functionName: 'cable-broadcast', client });
    expect(lambda.invocations).toEqual([{
      functionName: 'cable-broadcast',
      headers: expect.objectContaining({ 'x-amz-invocation-type': 'RequestResponse' }),
      payload: { kind: 'cable.broadcast', broadcasts: [{ stream: 'chat:1', data: '{"html":"<p>hi</p>"}' }] },
    }]);
  });

  test('broadcastAll: several messages in one invocation, in order; the function name may come from CABLE_BROADCAST_FUNCTION', async () => {
    process.env.CABLE_BROADCAST_FUNCTION = 'from-env';
    try {
      await broadcastAll([{ stream: 'a', message: 'first' }, { stream: 'b', message: 2 }], { client });
    } finally {
      delete process.env.CABLE_BROADCAST_FUNCTION;
    }
    expect(lambda.invocations[0].functionName).toBe('from-env');
    expect(lambda.invocations[0].payload).toEqual({ kind: 'cable.broadcast', broadcasts: [{ stream: 'a', data: '"first"' }, { stream: 'b', data: '2' }] });
  });

  test('broadcast: a failed broadcast function surfaces as an error with its message', async () => {
    lambda.fail = true;
    await expect(broadcast('chat', 'x', { functionName: 'cable-broadcast', client })).rejects.toThrow(/cable-broadcast failed \(Unhandled\).*store down/);
  });

  test('disconnectRemote: sends AnyCable\'s remote disconnect as a cable.disconnect invocation and returns the matches', async () => {
    lambda.answer = '{"connections":2,"disconnected":2,"gone":0,"failed":0}';
    expect(await disconnectRemote('{"current_user":"1"}', true, { functionName: 'cable-broadcast', client })).toBe(2);
    expect(lambda.invocations[0].payload).toEqual({ kind: 'cable.disconnect', identifier: '{"current_user":"1"}', reconnect: true });
    await expect(disconnectRemote('', false, { functionName: 'f', client })).rejects.toThrow(/non-empty identifiers JSON/);
  });

  test('broadcast: refuses bad input before invoking anything', async () => {
    await expect(broadcast('chat', 'x', { client })).rejects.toThrow(/CABLE_BROADCAST_FUNCTION/);
    await expect(broadcast('', 'x', { functionName: 'f', client })).rejects.toThrow(/stream must be a non-empty string/);
    await expect(broadcast('chat', undefined, { functionName: 'f', client })).rejects.toThrow(/cannot be JSON-encoded/);
    expect(lambda.invocations).toEqual([]);
  });
});
