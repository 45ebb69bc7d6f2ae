import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Answers request n (from 0); may leave `res` unanswered or destroy the socket. */
export type ScriptedHandler = (request: RecordedRequest, res: ServerResponse, req: IncomingMessage, index: number) => void;

/** A node:http server on a free port that records every request, body read in full, then runs `handler`. */
export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.requests.push(request);
      this.handler(request, res, req, this.requests.length - 1);
    });
  });
  handler: ScriptedHandler = (_request, res) => res.writeHead(200).end('{}');

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Closes the listener and every socket, answered or not. */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
