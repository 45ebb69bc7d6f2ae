import { IncomingMessage, ServerResponse } from 'node:http';

/**
 * How long a body may take to arrive once its headers have. Neither model sets one: anycable-go's
 * broadcast server gives the headers 5 s (`ReadHeaderTimeout`, server/server.go) and then reads
 * the body with no deadline, and a Lambda Function URL documents none. anycable-rails posts its
 * whole body at once from the same machine, so 10 s only cuts off a client that trickles.
 */
export const BODY_TIMEOUT_MS = 10_000;

export interface BodyLimits {
  /** Over this, 413: from `Content-Length` before reading, or as soon as the bytes read pass it. */
  readonly maxBytes: number;
  /** @default BODY_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** The 413's message. @default - "the body is over N bytes" */
  readonly tooLarge?: string;
}

export type BodyRead =
  | { readonly ok: true; readonly body: Buffer }
  /** Not read: answer with `status` and `message`; the connection ends after that answer. */
  | { readonly ok: false; readonly status: 400 | 408 | 413; readonly message: string };

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

const awaitingContinue = new WeakSet<IncomingMessage>();

/**
 * The http server's `checkContinue` listener. With it, Node leaves `100 Continue` to the routes:
 * `readBody` sends it when a route starts reading, that is after the checks made on the headers
 * alone (key, declared size, origin), so a request refused from its headers gets its final status
 * and never sends its body. Go's net/http, which anycable-go uses, sends it on the first read too.
 */
export function continueWhenRead(listener: RequestListener): RequestListener {
  return (request, response) => {
    awaitingContinue.add(request);
    listener(request, response);
  };
}

/**
 * The whole body, within `limits`; or a refusal, decided from `Content-Length` when it declares
 * more than `maxBytes`, otherwise as soon as the bytes read pass `maxBytes` (chunked bodies) or
 * the body is not complete after `timeoutMs`. Nothing beyond `maxBytes` is kept in memory.
 */
export function readBody(request: IncomingMessage, response: ServerResponse, limits: BodyLimits): Promise<BodyRead> {
  const { maxBytes } = limits;
  const tooLarge = () => refuse(request, response, 413, limits.tooLarge ?? `the body is over ${maxBytes} bytes`);
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) return Promise.resolve(tooLarge());
  if (awaitingContinue.delete(request)) response.writeContinue();

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead) => {
      clearTimeout(timer);
      request.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: Buffer.concat(chunks, size) });
    // The client went away mid-body: nobody reads the answer, but the route ends cleanly.
    const onClose = () => finish({ ok: false, status: 400, message: 'the client closed the request before sending its whole body' });
    const timer = setTimeout(() => finish(refuse(request, response, 408, `the body did not arrive within ${limits.timeoutMs ?? BODY_TIMEOUT_MS} ms`)),
      limits.timeoutMs ?? BODY_TIMEOUT_MS);
    request.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
  });
}

/**
 * How long a connection refused before its body was read stays open after the answer: closing it
 * with unread bytes makes the kernel send a reset, which can destroy the answer before the client
 * reads it (a 401 seen as ECONNRESET). Go's net/http, anycable-go's server, does the same: it
 * half-closes, waits 500 ms (`rstAvoidanceDelay`) without reading, then closes.
 */
const LINGER_MS = 500;

/**
 * The route answers without reading the body (refused from its headers, or over a limit): when
 * some is still to come, the connection is half-closed once the answer is written, stops being
 * read (the client's sends then stall on TCP flow control), and is closed `LINGER_MS` later.
 */
export function answerWithoutBody(request: IncomingMessage, response: ServerResponse): void {
  if (request.complete || !hasBody(request)) return;
  awaitingContinue.delete(request);
  const socket = request.socket;
  response.once('finish', () => {
    socket.end();
    // After Node's own handling of the finished response, which resumes reading on the next tick.
    setImmediate(() => socket.pause());
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  });
}

function refuse(request: IncomingMessage, response: ServerResponse, status: 408 | 413, message: string): BodyRead {
  answerWithoutBody(request, response);
  return { ok: false, status, message };
}

function hasBody(request: IncomingMessage): boolean {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
}
