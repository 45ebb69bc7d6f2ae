import { randomBytes, randomUUID } from 'node:crypto';
import { broadcastStep, wrongKeyStep } from './check-broadcast';
import { CheckSocket, HandshakeFailure } from './check-socket';
import { asFrame, CheckStep, elapsed, silence } from './check-step';
import { ACTIONCABLE_SUBPROTOCOL } from '../core/protocol';
import { signStream } from '../core/signed-stream';

/**
 * `cdk-cable check`'s scenario: what a Rails client and app do against a cable, step by step,
 * each step's expectation and outcome recorded. The CLI prints the result and the integration
 * test's function (test/integ/) asserts it, so both run exactly this.
 */

/** Seconds between pings when the URL does not ask for another interval with `?pi=` (Rails', anycable-go's). */
export const DEFAULT_PING_SECONDS = 3;
/** How soon after the socket opens the `welcome` is due. */
export const WELCOME_WITHIN_MS = 1_000;
export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

export interface CheckOptions {
  /** The key Turbo signs stream names with (`Turbo.signed_stream_verifier_key`); without it the signed subscription is skipped. */
  readonly turboStreamsSecret?: string;
  /** anycable-rails' `http_broadcast_url` (`…/_broadcast`); without it the broadcast steps are skipped. */
  readonly broadcastUrl?: string;
  /** The broadcast's bearer key (derived from the secret by the caller); without it only the wrong-key step runs. */
  readonly broadcastKey?: string;
  /** `Origin` of the upgrade request. @default - none (non-browser clients send none) */
  readonly origin?: string;
  /** How long to wait for each answer that has no deadline of its own. @default 10 000 ms */
  readonly timeoutMs?: number;
  /** @default 1 000 ms */
  readonly welcomeWithinMs?: number;
}

export type { CheckStep, CheckStepName } from './check-step';

export interface CheckReport {
  readonly url: string;
  /** Every step passed or was skipped. */
  readonly ok: boolean;
  readonly steps: readonly CheckStep[];
  /** Measured between two pings. */
  readonly pingIntervalMs?: number;
  /** From the start of the broadcast POST to the frame's arrival. */
  readonly broadcastLatencyMs?: number;
}

/** The interval the server should ping at: `?pi=<seconds>` on the URL (AnyCable's), else 3 s. */
export function expectedPingSeconds(url: string): number {
  const pi = Number(new URL(url).searchParams.get('pi'));
  return Number.isFinite(pi) && pi > 0 ? pi : DEFAULT_PING_SECONDS;
}

const ofType = (type: string) => (json: unknown) => asFrame(json).type === type;

export async function runCheck(url: string, options: CheckOptions = {}): Promise<CheckReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const steps: CheckStep[] = [];
  const report = (extra: Partial<CheckReport> = {}): CheckReport => ({
    url, ok: steps.every((s) => s.status !== 'fail'), steps, ...extra,
  });

  // 1. Handshake offering actioncable-v1-json.
  let started = performance.now();
  const opened = await CheckSocket.open(url, { subprotocol: ACTIONCABLE_SUBPROTOCOL, origin: options.origin, timeoutMs });
  const openedAt = performance.now();
  const handshakeExpected = `101 with Sec-WebSocket-Protocol: ${ACTIONCABLE_SUBPROTOCOL}`;
  if (opened.kind === 'failed') {
    steps.push({ name: 'handshake', status: 'fail', expected: handshakeExpected, ms: elapsed(started), ...describeHandshakeFailure(opened.failure, options) });
    for (const name of ['welcome', 'ping', 'subscribe', 'forged', 'broadcast', 'broadcast_key', 'close'] as const) {
      steps.push({ name, status: 'skip', expected: '-', got: 'not run: the handshake failed' });
    }
    return report();
  }
  const socket = opened.socket;
  steps.push({ name: 'handshake', status: 'pass', expected: handshakeExpected, got: `101, ${opened.protocol}`, ms: elapsed(started) });

  try {
    // 2. welcome within 1 s of open (waiting up to the timeout tells "late" from "never").
    const welcomeWithinMs = options.welcomeWithinMs ?? WELCOME_WITHIN_MS;
    const welcome = await socket.next(ofType('welcome'), Math.max(timeoutMs, welcomeWithinMs));
    const welcomeMs = welcome ? Math.round(welcome.at - openedAt) : undefined;
    const welcomeExpected = `{"type":"welcome"} within ${welcomeWithinMs} ms of open`;
    if (welcomeMs !== undefined && welcomeMs <= welcomeWithinMs) {
      steps.push({ name: 'welcome', status: 'pass', expected: welcomeExpected, got: `welcome after ${welcomeMs} ms`, ms: welcomeMs });
    } else if (welcomeMs !== undefined) {
      steps.push({
        name: 'welcome',
        status: 'fail',
        expected: welcomeExpected,
        got: `welcome after ${welcomeMs} ms`,
        ms: welcomeMs,
        hint: 'the welcome came late: a cold start of the deliver function (DeliverHandler) after a deploy? Run the check again; '
          + 'if it stays slow, look at DeliverHandler\'s duration and its 410 retries in CloudWatch Logs',
      });
    } else {
      steps.push({
        name: 'welcome',
        status: 'fail',
        expected: welcomeExpected,
        got: silence(socket, Math.max(timeoutMs, welcomeWithinMs)),
        ms: elapsed(openedAt),
        hint: 'no welcome: the client never subscribes without one. On AWS the deliver function posts it: look for "handler.failed" in '
          + 'DeliverHandler\'s logs (execute-api:ManageConnections, the @connections endpoint); a server that is not ActionCable sends none',
      });
    }

    // 3. Two pings, at the expected interval.
    const pingSeconds = expectedPingSeconds(url);
    const pingLimitMs = pingSeconds * 1500 + 1000;
    const pingExpected = `{"type":"ping"} every ${pingSeconds} s${new URL(url).searchParams.has('pi') ? ' (?pi=)' : ''}`;
    started = performance.now();
    const first = await socket.next(ofType('ping'), pingLimitMs);
    const second = first && await socket.next(ofType('ping'), pingLimitMs);
    let pingIntervalMs: number | undefined;
    if (first && second) {
      pingIntervalMs = Math.round(second.at - first.at);
      steps.push({ name: 'ping', status: 'pass', expected: pingExpected, got: `pings ${pingIntervalMs} ms apart`, ms: elapsed(started) });
    } else {
      steps.push({
        name: 'ping',
        status: 'fail',
        expected: pingExpected,
        got: first ? `one ping, then ${silence(socket, pingLimitMs)}` : silence(socket, pingLimitMs),
        ms: elapsed(started),
        hint: 'without pings a stock @rails/actioncable client reconnects after 6 s of silence: are pings off (pings: false, --ping_interval=0)? '
          + 'On AWS the pinger runs from an EventBridge rule once a minute: look at PingHandler\'s logs. A ?pi= outside '
          + 'minClientPingInterval..maxClientPingInterval is clamped',
      });
    }

    // 4. A signed Turbo stream is confirmed, a forged signature rejected.
    const stream = `cdk-cable-check:${randomUUID()}`;
    const identifier = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(stream, options.turboStreamsSecret ?? '') });
    let subscribed = false;
    if (options.turboStreamsSecret === undefined) {
      steps.push({ name: 'subscribe', status: 'skip', expected: 'confirm_subscription', got: 'skipped: no --secret, --secret_arn or --turbo_streams_secret to sign a stream name with' });
    } else {
      started = performance.now();
      const answer = await subscribe(socket, identifier, timeoutMs);
      subscribed = answer === 'confirm_subscription';
      steps.push({
        name: 'subscribe',
        status: subscribed ? 'pass' : 'fail',
        expected: 'confirm_subscription for a Turbo stream signed with the secret',
        got: answer ?? silence(socket, timeoutMs),
        ms: elapsed(started),
        ...(subscribed ? {} : {
          hint: answer === 'reject_subscription'
            ? 'signed stream rejected: is Turbo.signed_stream_verifier_key the cable secret? Rails must sign with the secret the cable verifies '
              + '(the CableSecretArn secret on AWS, --secret or --turbo_streams_secret locally): set config.turbo.signed_stream_verifier_key in '
              + 'config/environments/*.rb, and pass that same value to the check'
            : 'no answer to the subscribe: look at the message function\'s logs (MessageHandler: handler.failed, DynamoDB permissions)',
        }),
      });
    }
    const forged = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(stream, randomBytes(32).toString('hex')) });
    started = performance.now();
    const forgedAnswer = await subscribe(socket, forged, timeoutMs);
    steps.push({
      name: 'forged',
      status: forgedAnswer === 'reject_subscription' ? 'pass' : 'fail',
      expected: 'reject_subscription for a forged signature',
      got: forgedAnswer ?? silence(socket, timeoutMs),
      ms: elapsed(started),
      ...(forgedAnswer === 'reject_subscription' ? {} : {
        hint: forgedAnswer === 'confirm_subscription'
          ? 'a stream name signed with another key was accepted: anyone can subscribe to any stream. Turbo signed streams must be verified'
          : 'no answer to the subscribe: look at the message function\'s logs (MessageHandler)',
      }),
    });

    // 5. A broadcast over HTTP arrives on the subscription; a wrong key is refused.
    let broadcastLatencyMs: number | undefined;
    if (!options.broadcastUrl) {
      steps.push({ name: 'broadcast', status: 'skip', expected: '201 and the frame on the subscription', got: 'skipped: no --broadcast_url' });
      steps.push({ name: 'broadcast_key', status: 'skip', expected: '401 for a wrong key', got: 'skipped: no --broadcast_url' });
    } else {
      if (!subscribed) {
        steps.push({ name: 'broadcast', status: 'skip', expected: '201 and the frame on the subscription', got: 'skipped: no confirmed subscription to receive it' });
      } else if (options.broadcastKey === undefined) {
        steps.push({ name: 'broadcast', status: 'skip', expected: '201 and the frame on the subscription', got: 'skipped: no --secret, --secret_arn or --broadcast_key to derive the key from' });
      } else {
        const step = await broadcastStep(socket, options.broadcastUrl, options.broadcastKey, stream, identifier, timeoutMs);
        broadcastLatencyMs = step.latencyMs;
        steps.push(step.step);
      }
      steps.push(await wrongKeyStep(options.broadcastUrl, stream, timeoutMs));
    }

    // 6. Unsubscribe, close.
    started = performance.now();
    const closedEarly = socket.closed;
    if (subscribed && !closedEarly) socket.send({ command: 'unsubscribe', identifier });
    const closed = closedEarly ?? await socket.close(timeoutMs);
    steps.push(closedEarly
      ? {
        name: 'close',
        status: 'fail',
        expected: 'the socket open until the client closes it',
        ms: elapsed(started),
        got: `the server closed it during the check (${closedEarly.code}${closedEarly.reason ? ` ${closedEarly.reason}` : ''})`,
        hint: 'a server that closes a fresh connection: an API Gateway integration error (look at the $default route\'s function logs) or a disconnect the cable sent',
      }
      : closed
        ? { name: 'close', status: 'pass', expected: `${subscribed ? 'unsubscribe, then ' : ''}a close answered by the server`, got: `closed (${closed.code})`, ms: elapsed(started) }
        : { name: 'close', status: 'fail', expected: 'a close answered by the server', got: `no close frame within ${timeoutMs} ms`, ms: elapsed(started), hint: 'the server did not answer the close handshake' });
    return report({ pingIntervalMs, broadcastLatencyMs });
  } finally {
    socket.terminate();
  }
}

async function subscribe(socket: CheckSocket, identifier: string, timeoutMs: number): Promise<string | undefined> {
  if (socket.closed) return undefined;
  socket.send({ command: 'subscribe', identifier });
  const answer = await socket.next((json) => {
    const frame = asFrame(json);
    return frame.identifier === identifier && (frame.type === 'confirm_subscription' || frame.type === 'reject_subscription');
  }, timeoutMs);
  return answer ? String(asFrame(answer.json).type) : undefined;
}

function describeHandshakeFailure(failure: HandshakeFailure, options: CheckOptions): { got: string; hint: string } {
  switch (failure.kind) {
    case 'subprotocol':
      return {
        got: failure.given ? `101 with Sec-WebSocket-Protocol: ${failure.given}` : '101 without Sec-WebSocket-Protocol',
        hint: `the server did not echo the ${ACTIONCABLE_SUBPROTOCOL} subprotocol, so @rails/actioncable closes the socket and never reconnects. `
          + `The $connect integration must answer with Sec-WebSocket-Protocol: ${ACTIONCABLE_SUBPROTOCOL} (cdk-cable's ConnectHandler does; `
          + 'a proxy or CloudFront in front must pass the header through)',
      };
    case 'status':
      return {
        got: `HTTP ${failure.status}${failure.body ? ` ${failure.body.trim().slice(0, 200)}` : ''}`,
        hint: failure.status === 403
          ? `refused: an Origin the cable does not allow (${options.origin ? `--origin ${options.origin}` : 'no --origin given'}: pass one of allowedOrigins), `
            + 'or a path API Gateway does not serve (use the Url output, ending in the stage, /cable)'
          : failure.status === 401
            ? 'refused at $connect: the connection was not identified (JWT or the app\'s RPC connect)'
            : failure.status === 400
              ? `refused at $connect: the handshake did not offer what the server wants (${ACTIONCABLE_SUBPROTOCOL})`
              : failure.status === 404
                ? 'nothing serves this path (use the Url output, wss://….execute-api.….amazonaws.com/cable), or a Rails ActionCable server '
                  + `refused the Origin (${options.origin ? `--origin ${options.origin}` : 'no --origin given'}: pass one of allowed_request_origins)`
                : 'the $connect route failed: look at ConnectHandler\'s logs (handler.failed)',
      };
    case 'network':
      return { got: failure.message, hint: 'nothing answered the upgrade: check the host and port (the Url output on AWS), and the network' };
  }
}
