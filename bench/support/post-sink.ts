import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type SinkProtocol = 'http' | 'https';

/** An `@connections` endpoint that answers at once, in a process of its own. */
export interface PostSink {
  readonly port: number;
  stop(): Promise<void>;
}

export interface PostSinkOptions {
  /** Only `POST`s and `DELETE`s under `<stage>/@connections/` get 200; anything else 404. */
  readonly stage: string;
  /** The child exits by itself after this long, should the benchmark die without stopping it. */
  readonly lifetimeMs: number;
}

const SINK = (protocol: SinkProtocol, ssl: string, options: PostSinkOptions) => `
const tls = ${protocol === 'https' ? `{ key: require('fs').readFileSync(${JSON.stringify(path.join(ssl, 'server-key.pem'))}), cert: require('fs').readFileSync(${JSON.stringify(path.join(ssl, 'server-crt.pem'))}) }` : '{}'};
const server = require('${protocol}').createServer(tls, (request, response) => {
  request.resume();
  request.on('end', () => {
    const ok = request.url.startsWith(${JSON.stringify(`${options.stage}/@connections/`)}) && (request.method === 'POST' || request.method === 'DELETE');
    response.writeHead(ok ? 200 : 404, { 'Content-Length': 0 });
    response.end();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
setTimeout(() => process.exit(0), ${options.lifetimeMs}).unref();
`;

/**
 * The sink the CPU benchmarks post to: a child process (its CPU is not the measured process's)
 * on loopback that answers 200 at once, over HTTP or HTTPS with dynalite's self-signed test
 * certificate (posts in AWS are TLS).
 */
export async function startPostSink(protocol: SinkProtocol, options: PostSinkOptions): Promise<PostSink> {
  const ssl = path.join(path.dirname(require.resolve('dynalite/package.json')), 'ssl');
  if (protocol === 'https' && !fs.existsSync(path.join(ssl, 'server-key.pem'))) throw new Error(`no test certificate in ${ssl}`);
  const child: ChildProcess = spawn(process.execPath, ['-e', SINK(protocol, ssl, options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) resolve(Number(text.trim()));
    });
    child.once('exit', (code) => reject(new Error(`post sink exited with ${code}`)));
  });
  return {
    port,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
