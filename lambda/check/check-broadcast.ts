import { randomBytes, randomUUID } from 'node:crypto';
import { CheckSocket } from './check-socket';
import { asFrame, CheckStep, elapsed, silence } from './check-step';

/** Step 5 of the check: AnyCable's HTTP broadcast (`POST /_broadcast`) as anycable-rails sends it. */

export async function broadcastStep(
  socket: CheckSocket, url: string, key: string, stream: string, identifier: string, timeoutMs: number,
): Promise<{ step: CheckStep; latencyMs?: number }> {
  const expected = '201, then the frame on the subscription';
  const message = `cdk-cable check ${randomUUID()}`;
  const started = performance.now();
  const response = await post(url, key, { stream, data: JSON.stringify(message) }, timeoutMs);
  if (response.status !== 201) {
    return {
      step: {
        name: 'broadcast',
        status: 'fail',
        expected,
        got: response.text,
        ms: elapsed(started),
        hint: response.status === 401
          ? 'broadcast key refused: the key is hex(HMAC-SHA256(secret, "broadcast-cable")), which anycable-rails derives from its secret; '
            + 'pass the cable secret, or --broadcast_key when the stack sets broadcastKey'
          : response.status === 0
            ? 'the broadcast URL did not answer: use the BroadcastUrl output (https://….lambda-url.….on.aws/_broadcast)'
            : 'look at the broadcast function\'s logs (BroadcastHandler)',
      },
    };
  }
  const frame = await socket.next((json) => {
    const f = asFrame(json);
    return f.identifier === identifier && f.message === message;
  }, timeoutMs);
  if (!frame) {
    return {
      step: {
        name: 'broadcast',
        status: 'fail',
        expected,
        got: `201, then ${silence(socket, timeoutMs)}`,
        ms: elapsed(started),
        hint: 'accepted but not delivered: the broadcast URL belongs to another cable (another stack or stage?), or posts to @connections '
          + 'fail (BroadcastHandler and FanOutHandler logs: send_failed)',
      },
    };
  }
  const latencyMs = Math.round(frame.at - started);
  return { step: { name: 'broadcast', status: 'pass', expected, got: `201, frame ${latencyMs} ms after the POST`, ms: elapsed(started) }, latencyMs };
}

export async function wrongKeyStep(url: string, stream: string, timeoutMs: number): Promise<CheckStep> {
  const started = performance.now();
  const response = await post(url, `wrong-${randomBytes(16).toString('hex')}`, { stream, data: JSON.stringify('cdk-cable check: wrong key') }, timeoutMs);
  const ok = response.status === 401;
  return {
    name: 'broadcast_key',
    status: ok ? 'pass' : 'fail',
    expected: '401 for a wrong key',
    got: response.text,
    ms: elapsed(started),
    ...(ok ? {} : {
      hint: response.status === 201
        ? 'a wrong key was accepted: anyone who finds the URL can broadcast. Is the server in public mode (--public)?'
        : response.status === 0 ? 'the broadcast URL did not answer: use the BroadcastUrl output' : 'expected 401 from POST /_broadcast',
    }),
  };
}

/** `status` 0 when nothing answered; `text` says what came back. */
async function post(url: string, key: string, body: unknown, timeoutMs: number): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Authorization': `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await response.text()).trim().slice(0, 200);
    return { status: response.status, text: `${response.status}${text ? ` ${text}` : ''}` };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return { status: 0, text: `no answer (${cause ?? (error instanceof Error ? error.message : String(error))})` };
  }
}
