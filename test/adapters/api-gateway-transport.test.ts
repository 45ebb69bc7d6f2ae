import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { ApiGatewayTransport } from '../../lambda/adapters/apigw/api-gateway-transport';
import { ConnectionGoneError } from '../../lambda/core/errors';
import { Transport } from '../../lambda/core/ports';
import { FakeConnectionsApi } from '../support/fake-connections-api';

const CONNECTION_ID = 'L0SM9cOFvHcCIhw=';
let api: FakeConnectionsApi;
let client: ApiGatewayManagementApiClient;
let transport: ApiGatewayTransport;

beforeEach(async () => {
  api = new FakeConnectionsApi('test');
  const endpoint = await api.start();
  client = new ApiGatewayManagementApiClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  transport = new ApiGatewayTransport(client) satisfies Transport;
});

afterEach(async () => {
  client.destroy();
  await api.stop();
});

describe('send', () => {
  test('send: posts the frame as utf8 bytes to the stage path of the connection', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const frame = '{"identifier":"{\\"channel\\":\\"Turbo::StreamsChannel\\"}","message":"<p>café ✓ 🚀</p>"}';
    await transport.send(CONNECTION_ID, frame);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ method: 'POST', path: `/prod/@connections/${encodeURIComponent(CONNECTION_ID)}` });
    expect(api.requests[0].body.equals(Buffer.from(frame, 'utf8'))).toBe(true);
  });

  test('send: frames to one connection arrive in order', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    await transport.send(CONNECTION_ID, '{"type":"welcome"}');
    await transport.send(CONNECTION_ID, '{"type":"ping","message":1}');
    expect(api.requests.map((r) => r.body.toString('utf8'))).toEqual(['{"type":"welcome"}', '{"type":"ping","message":1}']);
  });

  test('send: a 410 GoneException becomes ConnectionGoneError for that connection', async () => {
    api.connections.set(CONNECTION_ID, 'gone');
    const sent = transport.send(CONNECTION_ID, '{"type":"welcome"}');
    await expect(sent).rejects.toBeInstanceOf(ConnectionGoneError);
    await expect(sent).rejects.toMatchObject({ connectionId: CONNECTION_ID });
  });

  test('send: a 410 without an error type is still ConnectionGoneError', async () => {
    api.connections.set(CONNECTION_ID, 'gone-without-error-type');
    await expect(transport.send(CONNECTION_ID, '{"type":"welcome"}')).rejects.toBeInstanceOf(ConnectionGoneError);
  });

  test('send: other errors propagate as the SDK raised them', async () => {
    api.connections.set(CONNECTION_ID, 'forbidden');
    const sent = transport.send(CONNECTION_ID, '{"type":"welcome"}');
    await expect(sent).rejects.toMatchObject({ name: 'ForbiddenException', $metadata: { httpStatusCode: 403 } });
    await expect(sent).rejects.not.toBeInstanceOf(ConnectionGoneError);
  });
});

describe('close', () => {
  test('close: deletes the connection at its stage path', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    await transport.close(CONNECTION_ID);
    expect(api.requests).toEqual([expect.objectContaining({ method: 'DELETE', path: `/prod/@connections/${encodeURIComponent(CONNECTION_ID)}` })]);
    expect(api.connections.has(CONNECTION_ID)).toBe(false);
  });

  test('close: a gone connection is not an error', async () => {
    api.connections.set(CONNECTION_ID, 'gone');
    await expect(transport.close(CONNECTION_ID)).resolves.toBeUndefined();
    expect(api.requests).toEqual([expect.objectContaining({ method: 'DELETE' })]);
  });

  test('close: other errors propagate', async () => {
    api.connections.set(CONNECTION_ID, 'forbidden');
    await expect(transport.close(CONNECTION_ID)).rejects.toMatchObject({ name: 'ForbiddenException' });
  });
});
