import { RpcClient } from '../../lambda/core/rpc-client';
import { RpcCallError, RpcMethod, RpcTransport } from '../../lambda/core/rpc-protocol';

/** Answers every call with `answer` (a body, or an error to throw). */
function transport(answer: string | Error): RpcTransport {
  return { call: async () => { if (answer instanceof Error) throw answer; return answer; } };
}

function clientWith(answer: string | Error): { client: RpcClient; failures: [RpcMethod, string][] } {
  const failures: [RpcMethod, string][] = [];
  return { client: new RpcClient(transport(answer), (method, reason) => failures.push([method, reason])), failures };
}

const ENV = { url: 'https://cable.example.com/cable', headers: {} };

describe('RpcClient failure observer (the RpcErrors metric)', () => {
  test('observer: a transport failure is reported with its reason and still thrown', async () => {
    const { client, failures } = clientWith(new RpcCallError('timeout', 'no answer in 3000 ms'));
    await expect(client.command('sid-1', { command: 'message', identifier: '{"channel":"A"}', connectionIdentifiers: '{}', data: '{}', env: ENV }))
      .rejects.toMatchObject({ reason: 'timeout' });
    expect(failures).toEqual([['command', 'timeout']]);
  });

  test('observer: a body that is not a response is reported as malformed_response', async () => {
    const { client, failures } = clientWith('{"status":1,');
    await expect(client.connect('sid-1', ENV)).rejects.toBeInstanceOf(RpcCallError);
    expect(failures).toEqual([['connect', 'malformed_response']]);
  });

  test('observer: status 0 (ERROR) is returned and reported as app_error', async () => {
    const { client, failures } = clientWith('{"error_msg":"boom"}');
    await expect(client.disconnect('sid-1', '{}', [], ENV)).resolves.toEqual({ status: 0, errorMsg: 'boom' });
    expect(failures).toEqual([['disconnect', 'app_error']]);
  });

  test.each([['{"status":1}'], ['{"status":2}']])('observer: %s is not a failure', async (body) => {
    const { client, failures } = clientWith(body);
    await client.connect('sid-1', ENV);
    expect(failures).toEqual([]);
  });

  test('observer: an error that is not an RpcCallError (a bug) is thrown unreported', async () => {
    const { client, failures } = clientWith(new TypeError('bad header value'));
    await expect(client.connect('sid-1', ENV)).rejects.toBeInstanceOf(TypeError);
    expect(failures).toEqual([]);
  });
});
