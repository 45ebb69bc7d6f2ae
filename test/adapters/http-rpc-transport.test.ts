import { HttpRpcTransport, HttpRpcTransportOptions } from '../../lambda/adapters/rpc/http-rpc-transport';
import { RpcCallError, RpcTransport } from '../../lambda/core/rpc-protocol';
import { freePort } from '../support/puma-process';
import { RecordingServer } from '../support/rpc-test-server';

const BODY = '{"env":{"url":"ws://example.com/cable","headers":{"cookie":"a=b; café=✓"}}}';
const SID = 'sid-8d1f0c';

let server: RecordingServer;
let origin: string;

beforeEach(async () => {
  server = new RecordingServer();
  origin = await server.start();
});

afterEach(async () => {
  await server.stop();
});

function transport(options: Partial<HttpRpcTransportOptions> = {}): RpcTransport {
  return new HttpRpcTransport({ url: `${origin}/_anycable`, ...options }) satisfies RpcTransport;
}

/** The RpcCallError `call` rejected with; fails the test if it resolved or threw something else. */
async function failure(call: Promise<string>): Promise<RpcCallError> {
  const error = await call.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(RpcCallError);
  return error as RpcCallError;
}

describe('request', () => {
  test.each([
    ['/_anycable', 'connect', '/_anycable/connect'],
    ['/_anycable/', 'command', '/_anycable/command'],
    ['', 'disconnect', '/disconnect'],
    ['/', 'connect', '/connect'],
    ['//rpc//v1/', 'connect', '/rpc/v1/connect'],
    ['/_anycable?tenant=a', 'command', '/_anycable/command?tenant=a'],
  ])('url: %j joined with %s is %s', async (suffix, method, path) => {
    await new HttpRpcTransport({ url: `${origin}${suffix}` }).call(method as 'connect', BODY, SID);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${path}`]);
  });

  test('headers: content type, bearer secret, sid and protov; the body goes verbatim', async () => {
    await transport({ secret: 's3cr3t' }).call('connect', BODY, SID);
    const [request] = server.requests;
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'authorization': 'Bearer s3cr3t',
      'x-anycable-meta-sid': SID,
      'x-anycable-meta-protov': 'v1',
    });
    expect(request.body).toBe(BODY);
  });

  test('secret: without one there is no Authorization header', async () => {
    await transport().call('connect', BODY, SID);
    expect(server.requests[0].headers.authorization).toBeUndefined();
  });
});

describe('response', () => {
  test('200: the body is returned as it came', async () => {
    server.handler = (_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":1,"transmissions":["é"]}');
    await expect(transport().call('command', BODY, SID)).resolves.toBe('{"status":1,"transmissions":["é"]}');
  });

  test('401: unauthorized', async () => {
    server.handler = (_request, res) => res.writeHead(401).end();
    const error = await failure(transport({ secret: 'wrong' }).call('connect', BODY, SID));
    expect(error).toMatchObject({ reason: 'unauthorized', status: 401 });
  });

  test.each([400, 422])('%d: bad_request with the body in the message', async (status) => {
    server.handler = (_request, res) => res.writeHead(status).end('{"error":"identifier is missing"}');
    const error = await failure(transport().call('command', BODY, SID));
    expect(error).toMatchObject({ reason: 'bad_request', status });
    expect(error.message).toContain('{"error":"identifier is missing"}');
  });

  test('422: a long body is cut to its first 200 characters', async () => {
    server.handler = (_request, res) => res.writeHead(422).end(`${'a'.repeat(200)}${'Q'.repeat(300)}`);
    const error = await failure(transport().call('command', BODY, SID));
    expect(error.message).toContain('a'.repeat(200));
    expect(error.message).not.toContain('Q');
  });

  test.each([500, 503, 404, 201, 204])('%d: http_error with the status, not retried', async (status) => {
    server.handler = (_request, res) => res.writeHead(status).end();
    const error = await failure(transport().call('disconnect', BODY, SID));
    expect(error).toMatchObject({ reason: 'http_error', status });
    expect(server.requests).toHaveLength(1);
  });

  test('302: the redirect is not followed', async () => {
    server.handler = (request, res) => res.writeHead(request.url === '/elsewhere' ? 200 : 302, { location: '/elsewhere' }).end('{}');
    const error = await failure(transport().call('connect', BODY, SID));
    expect(error).toMatchObject({ reason: 'http_error', status: 302 });
    expect(server.requests.map((r) => r.url)).toEqual(['/_anycable/connect']);
  });

  test('body: a 200 whose body breaks off is malformed_response', async () => {
    server.handler = (_request, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"status":', () => res.destroy());
    };
    const error = await failure(transport().call('connect', BODY, SID));
    expect(error.reason).toBe('malformed_response');
    expect(server.requests).toHaveLength(1);
  });
});

describe('timeout', () => {
  test('timeoutMs: an app that never answers is a timeout, and the call is not retried', async () => {
    server.handler = () => undefined;
    const error = await failure(transport({ timeoutMs: 300 }).call('connect', BODY, SID));
    expect(error.reason).toBe('timeout');
    expect(server.requests).toHaveLength(1);
  });

  test('timeoutMs: the deadline covers the retries too', async () => {
    server.handler = (_request, _res, req, index) => {
      if (index === 0) req.socket.destroy();
    };
    const error = await failure(transport({ timeoutMs: 500, retryBaseDelayMs: 10 }).call('connect', BODY, SID));
    expect(error.reason).toBe('timeout');
    expect(server.requests).toHaveLength(2);
  });
});

describe('retries', () => {
  test('maxAttempts: requests dropped without an answer are retried until one is answered', async () => {
    server.handler = (_request, res, req, index) => {
      if (index < 2) req.socket.destroy();
      else res.writeHead(200).end('{"status":1}');
    };
    const rpc = transport({ maxAttempts: 3, retryBaseDelayMs: 10, timeoutMs: 5_000 });
    await expect(rpc.call('connect', BODY, SID)).resolves.toBe('{"status":1}');
    expect(server.requests).toHaveLength(3);
  });

  test('maxAttempts: once spent, the call fails as unavailable', async () => {
    server.handler = (_request, _res, req) => req.socket.destroy();
    const error = await failure(transport({ maxAttempts: 2, retryBaseDelayMs: 10, timeoutMs: 5_000 }).call('connect', BODY, SID));
    expect(error.reason).toBe('unavailable');
    expect(server.requests).toHaveLength(2);
  });

  test('unavailable: a refused connection is retried maxAttempts times', async () => {
    const port = await freePort();
    let attempts = 0;
    const countingFetch: typeof fetch = (input, init) => {
      attempts += 1;
      return fetch(input, init);
    };
    const rpc = new HttpRpcTransport({ url: `http://127.0.0.1:${port}/_anycable`, retryBaseDelayMs: 10, timeoutMs: 5_000, fetch: countingFetch });
    const error = await failure(rpc.call('connect', BODY, SID));
    expect(error.reason).toBe('unavailable');
    expect(error.message).toContain('ECONNREFUSED');
    expect(attempts).toBe(3);
  });

  test('timeoutMs: a retry that would start past the deadline is not made', async () => {
    server.handler = (_request, _res, req) => req.socket.destroy();
    const error = await failure(transport({ retryBaseDelayMs: 60_000, timeoutMs: 2_000 }).call('connect', BODY, SID));
    expect(error.reason).toBe('unavailable');
    expect(server.requests).toHaveLength(1);
  });

  test('fetch: an error that is not a network failure is rethrown as it is, once', async () => {
    let attempts = 0;
    const failingFetch: typeof fetch = () => {
      attempts += 1;
      return Promise.reject(new RangeError('boom'));
    };
    await expect(transport({ fetch: failingFetch }).call('connect', BODY, SID)).rejects.toThrow(RangeError);
    expect(attempts).toBe(1);
  });
});

describe('options', () => {
  test.each(['ftp://app.example.com/_anycable', 'app.example.com/_anycable', 'ws://app.example.com/_anycable'])('url: %s is rejected', (url) => {
    expect(() => new HttpRpcTransport({ url })).toThrow(/^rpc url .*must use http: or https:|^rpc url must be an absolute/);
    expect(() => new HttpRpcTransport({ url })).toThrow(url);
  });

  test('url: credentials in the url are rejected', () => {
    expect(() => new HttpRpcTransport({ url: 'https://user:pass@app.example.com/_anycable' })).toThrow(/^rpc url must not contain credentials/);
  });

  test.each([
    [{ timeoutMs: 0 }, /timeoutMs/],
    [{ maxAttempts: 0 }, /maxAttempts/],
    [{ retryBaseDelayMs: -1 }, /retryBaseDelayMs/],
  ])('%j is rejected', (options, message) => {
    expect(() => new HttpRpcTransport({ url: 'http://app/_anycable', ...options })).toThrow(message);
  });
});
