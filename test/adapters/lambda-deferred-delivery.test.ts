import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { LambdaDeferredDelivery } from '../../lambda/adapters/lambda/lambda-deferred-delivery';
import { DeferredDelivery, DeliveryRequest } from '../../lambda/core/ports';

interface Invocation {
  readonly method: string;
  readonly functionName: string;
  readonly headers: IncomingHttpHeaders;
  readonly payload: string;
}

/**
 * A stand-in for Lambda's Invoke API: an `Event` invocation is queued and answered 202 with
 * an empty body; an unknown function is a 404 ResourceNotFoundException.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
class FakeLambdaApi {
  readonly invocations: Invocation[] = [];
  readonly functions = new Set<string>();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/?]+)\/invocations$/.exec(req.url ?? '');
      if (!match || req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        return;
      }
      const functionName = decodeURIComponent(match[1]);
      this.invocations.push({ method: req.method, functionName, headers: req.headers, payload: Buffer.concat(chunks).toString('utf8') });
      if (!this.functions.has(functionName)) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'ResourceNotFoundException' })
          .end(JSON.stringify({ Type: 'User', message: `Function not found: ${functionName}` }));
        return;
      }
      const event = req.headers['x-amz-invocation-type'] === 'Event';
      res.writeHead(event ? 202 : 200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' }).end(event ? '' : 'null');
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

const FUNCTION_NAME = 'cable-deliver';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cable-deliver';
const REQUEST: DeliveryRequest = {
  connectionId: 'L0SM9cOFvHcCIhw=',
  frames: ['{"type":"welcome"}', '{"identifier":"x","message":"café ✓"}'],
  deadline: 1_700_000_010_000,
};

let api: FakeLambdaApi;
let client: LambdaClient;

beforeEach(async () => {
  api = new FakeLambdaApi();
  const endpoint = await api.start();
  client = new LambdaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});

afterEach(async () => {
  client.destroy();
  await api.stop();
});

describe('deliverLater', () => {
  test('deliverLater: invokes the function asynchronously (Event) with the request as JSON', async () => {
    api.functions.add(FUNCTION_NAME);
    const delivery = new LambdaDeferredDelivery(client, FUNCTION_NAME) satisfies DeferredDelivery;
    await delivery.deliverLater(REQUEST);
    expect(api.invocations).toHaveLength(1);
    const [invocation] = api.invocations;
    expect(invocation.functionName).toBe(FUNCTION_NAME);
    expect(invocation.headers['x-amz-invocation-type']).toBe('Event');
    expect(JSON.parse(invocation.payload)).toEqual(REQUEST);
  });

  test('deliverLater: accepts a function ARN as the name', async () => {
    api.functions.add(FUNCTION_ARN);
    await new LambdaDeferredDelivery(client, FUNCTION_ARN).deliverLater(REQUEST);
    expect(api.invocations.map((i) => i.functionName)).toEqual([FUNCTION_ARN]);
  });

  test('deliverLater: an error from Lambda propagates', async () => {
    const delivery = new LambdaDeferredDelivery(client, 'missing-function');
    await expect(delivery.deliverLater(REQUEST)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
