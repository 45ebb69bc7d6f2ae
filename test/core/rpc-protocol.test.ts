import {
  decodeCommandResponse, decodeConnectResponse, decodeDisconnectResponse, encodeCommandRequest, RpcCallError,
} from '../../lambda/core/rpc-protocol';

/*
 * The wire format itself (rpc.proto as JSON, Go's omitempty: absent or null means empty). A
 * malformed answer is an RpcCallError `malformed_response` whose whole message is what the
 * operator reads in the log, so each case asserts the exact message (an Error passed to toThrow
 * is compared by its whole message, a string only as a part of it).
 */

const ENV = { url: 'https://cable.example.com/cable', headers: {} };

/** Asserts that decoding `body` throws a malformed_response RpcCallError with exactly `message`. */
function expectMalformed(decode: () => unknown, message: string): void {
  expect(decode).toThrow(RpcCallError);
  expect(decode).toThrow(new Error(message));
  expect(decode).toThrow(expect.objectContaining({ reason: 'malformed_response' }) as unknown as Error);
}

describe('RpcCallError', () => {
  test('name: RpcCallError, so a logged stack says which error it was', () => {
    const error = new RpcCallError('http_error', 'command answered 503', 503);
    expect(error.name).toBe('RpcCallError');
    expect(String(error)).toBe('RpcCallError: command answered 503');
  });
});

describe('encodeCommandRequest: data', () => {
  const base = { command: 'message' as const, identifier: '{"channel":"A"}', connectionIdentifiers: '{}', env: ENV };

  test.each([[undefined], ['']])('data %j: no data key (omitempty)', (data) => {
    expect('data' in JSON.parse(encodeCommandRequest({ ...base, data }))).toBe(false);
  });

  test('data given: sent verbatim', () => {
    expect(JSON.parse(encodeCommandRequest({ ...base, data: '{"action":"speak"}' })).data).toBe('{"action":"speak"}');
  });
});

describe('decode: absent or null fields are empty (Go zero values)', () => {
  test('connect: null identifiers, transmissions, error_msg and env', () => {
    expect(decodeConnectResponse('{"status":1,"identifiers":null,"transmissions":null,"error_msg":null,"env":null}'))
      .toEqual({ status: 1, identifiers: '', transmissions: [], errorMsg: '', env: {} });
  });

  test('command: null booleans, lists and env maps', () => {
    expect(decodeCommandResponse(JSON.stringify({
      status: 1, disconnect: null, stop_streams: null, streams: null, stopped_streams: null, env: { cstate: null, istate: null },
    }))).toEqual({ status: 1, disconnect: false, stopStreams: false, streams: [], stoppedStreams: [], transmissions: [], errorMsg: '', env: {} });
  });

  test('env maps: an empty map is kept, a map of strings decoded', () => {
    expect(decodeCommandResponse(JSON.stringify({ status: 1, env: { cstate: {}, istate: { count: '1' } } })).env)
      .toEqual({ cstate: {}, istate: { count: '1' } });
  });
});

describe('decode: malformed responses', () => {
  test('not JSON: the first 80 characters, quoted', () => {
    const body = `{"status":1,"transmissions":["${'x'.repeat(100)}`;
    expectMalformed(() => decodeConnectResponse(body), `connect response is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
  });

  test.each([['[]'], ['null'], ['"ok"'], ['1']])('not an object: %s', (body) => {
    expectMalformed(() => decodeDisconnectResponse(body), 'disconnect response is not a JSON object');
  });

  test.each([
    ['{"status":5}', 'has status 5, expected 0, 1 or 2'],
    ['{"status":"1"}', 'has status "1", expected 0, 1 or 2'],
    ['{"status":1,"error_msg":42}', 'has a non-string error_msg'],
    ['{"status":1,"disconnect":"true"}', 'has a non-boolean disconnect'],
    ['{"status":1,"stop_streams":1}', 'has a non-boolean stop_streams'],
    ['{"status":1,"streams":"chat"}', 'has a streams that is not a list of strings'],
    ['{"status":1,"streams":{"0":"chat"}}', 'has a streams that is not a list of strings'],
    ['{"status":1,"stopped_streams":["chat",1]}', 'has a stopped_streams that is not a list of strings'],
    ['{"status":1,"env":"cstate"}', 'has an env that is not an object'],
    ['{"status":1,"env":[{"cstate":{}}]}', 'has an env that is not an object'],
    ['{"status":1,"env":{"cstate":"ab"}}', 'has an env.cstate that is not a map of strings'],
    ['{"status":1,"env":{"cstate":5}}', 'has an env.cstate that is not a map of strings'],
    ['{"status":1,"env":{"cstate":["a"]}}', 'has an env.cstate that is not a map of strings'],
    ['{"status":1,"env":{"istate":{"a":"x","b":1}}}', 'has an env.istate that is not a map of strings'],
  ])('command: %s', (body, detail) => {
    expectMalformed(() => decodeCommandResponse(body), `command response ${detail}`);
  });

  test('connect: a non-string identifiers', () => {
    expectMalformed(() => decodeConnectResponse('{"status":1,"identifiers":{"user":1}}'), 'connect response has a non-string identifiers');
  });
});
