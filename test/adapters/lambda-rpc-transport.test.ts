import { LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { LambdaRpcTransport, LambdaRpcTransportOptions } from '../../lambda/adapters/rpc/lambda-rpc-transport';
import { RpcCallError, RpcTransport } from '../../lambda/core/rpc-protocol';
import { freePort } from '../support/puma-process';
import { RecordingServer } from '../support/rpc-test-server';

interface Scripted {
  /** The Invoke API's own status. @default 200 */
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** What the function returned, as the Invoke API sends it back. */
  readonly payload: string;
}

interface Invocation {
  readonly functionName: string;
  readonly invocationType: string | string[] | undefined;
  readonly event: APIGatewayProxyEventV2;
}

const THROTTLED: Scripted = {
  status: 429,
  headers: { 'x-amzn-errortype': 'TooManyRequestsException' },
  payload: JSON.stringify({ Type: 'User', message: 'Rate exceeded' }),
};

/**
 * Lambda's Invoke API (`POST /2015-03-31/functions/<name>/invocations`): records each event and
 * answers the next scripted response; once the script runs out, the last one repeats.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
class FakeInvokeApi {
  readonly server = new RecordingServer();
  readonly invocations: Invocation[] = [];
  script: Scripted[] = [{ payload: JSON.stringify({ statusCode: 200, body: '{}' }) }];

  async start(): Promise<string> {
    this.server.handler = (request, res, _req, index) => {
      const match = /^\/2015-03-31\/functions\/([^/?]+)\/invocations$/.exec(request.url);
      if (!match || request.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        return;
      }
      this.invocations.push({
        functionName: decodeURIComponent(match[1]),
        invocationType: request.headers['x-amz-invocation-type'],
        event: JSON.parse(request.body) as APIGatewayProxyEventV2,
      });
      const scripted = this.script[Math.min(index, this.script.length - 1)];
      if (scripted.status === -1) return; // never answers
      res.writeHead(scripted.status ?? 200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST', ...scripted.headers }).end(scripted.payload);
    };
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

const FUNCTION_NAME = 'rails-app';
const BODY = '{"env":{"url":"wss://example.com/cable","headers":{"cookie":"a=b; café=✓"}}}';
const SID = 'sid-8d1f0c';

let api: FakeInvokeApi;
let client: LambdaClient;

beforeEach(async () => {
  api = new FakeInvokeApi();
  const endpoint = await api.start();
  client = new LambdaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});

afterEach(async () => {
  client.destroy();
  await api.stop();
});

function transport(options: Partial<LambdaRpcTransportOptions> = {}): RpcTransport {
  return new LambdaRpcTransport({ client, functionName: FUNCTION_NAME, ...options }) satisfies RpcTransport;
}

function returns(result: unknown): Scripted {
  return { payload: JSON.stringify(result) };
}

/** The RpcCallError `call` rejected with; fails the test if it resolved or threw something else. */
async function failure(call: Promise<string>): Promise<RpcCallError> {
  const error = await call.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(RpcCallError);
  return error as RpcCallError;
}

describe('event', () => {
  test('event: a synchronous invocation with an HTTP API payload 2.0 POST to /_anycable/<method>', async () => {
    await transport({ secret: 's3cr3t' }).call('command', BODY, SID);
    expect(api.invocations).toHaveLength(1);
    const [{ functionName, invocationType, event }] = api.invocations;
    expect(functionName).toBe(FUNCTION_NAME);
    expect(invocationType).toBe('RequestResponse');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/_anycable/command',
      rawQueryString: '',
      body: BODY,
      isBase64Encoded: false,
      requestContext: {
        domainName: 'localhost',
        domainPrefix: 'localhost',
        http: { method: 'POST', path: '/_anycable/command', protocol: 'HTTP/1.1' },
        routeKey: '$default',
        stage: '$default',
      },
    });
    expect(event.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(BODY)),
      'host': 'localhost',
      'authorization': 'Bearer s3cr3t',
      'x-anycable-meta-sid': SID,
      'x-anycable-meta-protov': 'v1',
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(typeof event.requestContext.timeEpoch).toBe('number');
  });

  test('path, host: the app sees its own mount path and host; no secret, no Authorization', async () => {
    await transport({ path: '/rpc/', host: 'app.internal' }).call('disconnect', BODY, SID);
    const [{ event }] = api.invocations;
    expect(event.rawPath).toBe('/rpc/disconnect');
    expect(event.requestContext.http.path).toBe('/rpc/disconnect');
    expect(event.headers.host).toBe('app.internal');
    expect(event.requestContext).toMatchObject({ domainName: 'app.internal', domainPrefix: 'app' });
    expect(event.headers.authorization).toBeUndefined();
  });

  test('requestId: each invocation has its own', async () => {
    const rpc = transport();
    await rpc.call('connect', BODY, SID);
    await rpc.call('connect', BODY, SID);
    const [first, second] = api.invocations.map((i) => i.event.requestContext.requestId);
    expect(first).not.toBe(second);
  });
});

describe('response', () => {
  test('statusCode 200: the body is returned', async () => {
    api.script = [returns({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"status":1,"transmissions":["é"]}' })];
    await expect(transport().call('connect', BODY, SID)).resolves.toBe('{"status":1,"transmissions":["é"]}');
  });

  test('isBase64Encoded: the body is decoded', async () => {
    const body = '{"status":1,"transmissions":["café ✓"]}';
    api.script = [returns({ statusCode: 200, body: Buffer.from(body).toString('base64'), isBase64Encoded: true })];
    await expect(transport().call('connect', BODY, SID)).resolves.toBe(body);
  });

  test('no statusCode: the returned JSON is a 200 body', async () => {
    api.script = [{ payload: '{"status":1,"identifiers":"{\\"user\\":1}","transmissions":[]}' }];
    await expect(transport().call('connect', BODY, SID)).resolves.toBe('{"status":1,"identifiers":"{\\"user\\":1}","transmissions":[]}');
  });

  test('no statusCode: a returned string is the body itself', async () => {
    api.script = [returns('{"status":1}')];
    await expect(transport().call('connect', BODY, SID)).resolves.toBe('{"status":1}');
  });

  test('null: a function that returned nothing is malformed_response', async () => {
    api.script = [{ payload: 'null' }];
    expect((await failure(transport().call('connect', BODY, SID))).reason).toBe('malformed_response');
  });

  test.each([
    [401, 'unauthorized'],
    [400, 'bad_request'],
    [422, 'bad_request'],
    [500, 'http_error'],
    [404, 'http_error'],
    [302, 'http_error'],
  ])('statusCode %d: %s, not retried', async (statusCode, reason) => {
    api.script = [returns({ statusCode, body: '{"error":"identifier is missing"}' })];
    const error = await failure(transport().call('command', BODY, SID));
    expect(error).toMatchObject({ reason, status: statusCode });
    if (reason === 'bad_request') expect(error.message).toContain('identifier is missing');
    expect(api.invocations).toHaveLength(1);
  });

  test('FunctionError: function_error with the error message, not retried', async () => {
    api.script = [{ headers: { 'x-amz-function-error': 'Unhandled' }, payload: JSON.stringify({ errorMessage: 'undefined method `user\' for nil', errorType: 'NoMethodError' }) }];
    const error = await failure(transport().call('connect', BODY, SID));
    expect(error.reason).toBe('function_error');
    expect(error.message).toContain('undefined method `user\' for nil');
    expect(api.invocations).toHaveLength(1);
  });
});

describe('invoke errors', () => {
  test('TooManyRequestsException: retried until the function answers', async () => {
    api.script = [THROTTLED, THROTTLED, returns({ statusCode: 200, body: '{"status":1}' })];
    await expect(transport({ retryBaseDelayMs: 10, timeoutMs: 5_000 }).call('connect', BODY, SID)).resolves.toBe('{"status":1}');
    expect(api.invocations).toHaveLength(3);
  });

  test('TooManyRequestsException: unavailable once maxAttempts are spent', async () => {
    api.script = [THROTTLED];
    const error = await failure(transport({ maxAttempts: 2, retryBaseDelayMs: 10, timeoutMs: 5_000 }).call('connect', BODY, SID));
    expect(error.reason).toBe('unavailable');
    expect(error.message).toContain('TooManyRequestsException');
    expect(api.invocations).toHaveLength(2);
  });

  test('ServiceException: a Lambda 5xx is unavailable and retried', async () => {
    const failed: Scripted = { status: 500, headers: { 'x-amzn-errortype': 'ServiceException' }, payload: '{"Type":"Service","message":"internal"}' };
    api.script = [failed, returns({ statusCode: 200, body: '{"status":1}' })];
    await expect(transport({ retryBaseDelayMs: 10, timeoutMs: 5_000 }).call('connect', BODY, SID)).resolves.toBe('{"status":1}');
    expect(api.invocations).toHaveLength(2);
  });

  test('ResourceNotFoundException: function_error naming it, not retried', async () => {
    api.script = [{ status: 404, headers: { 'x-amzn-errortype': 'ResourceNotFoundException' }, payload: '{"Type":"User","message":"Function not found"}' }];
    const error = await failure(transport().call('connect', BODY, SID));
    expect(error.reason).toBe('function_error');
    expect(error.message).toContain('ResourceNotFoundException');
    expect(api.invocations).toHaveLength(1);
  });

  test('network: an endpoint that refuses connections is unavailable', async () => {
    const closed = new LambdaClient({ endpoint: `http://127.0.0.1:${await freePort()}`, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    try {
      const error = await failure(new LambdaRpcTransport({ client: closed, functionName: FUNCTION_NAME, retryBaseDelayMs: 10, timeoutMs: 5_000 }).call('connect', BODY, SID));
      expect(error.reason).toBe('unavailable');
      expect(error.message).toContain('ECONNREFUSED');
    } finally {
      closed.destroy();
    }
  });

  test('timeoutMs: a function that never answers is a timeout, not retried', async () => {
    api.script = [{ status: -1, payload: '' }];
    const error = await failure(transport({ timeoutMs: 300 }).call('connect', BODY, SID));
    expect(error.reason).toBe('timeout');
    expect(api.invocations).toHaveLength(1);
  });
});

describe('options', () => {
  test.each([
    [{ path: '_anycable' }, /^path/],
    [{ path: '/_anycable?x=1' }, /^path/],
    [{ host: 'app example' }, /^host/],
    [{ functionName: '' }, /^functionName/],
    [{ maxAttempts: 0 }, /^maxAttempts/],
  ])('%j is rejected', (options, message) => {
    expect(() => new LambdaRpcTransport({ client, functionName: FUNCTION_NAME, ...options })).toThrow(message);
  });
});
