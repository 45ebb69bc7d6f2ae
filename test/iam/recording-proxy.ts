import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { CableFunctionName } from '../../src/contract/functions';

/*
 * One proxy per function, in front of everything AWS the function reaches: its DynamoDB,
 * `@connections`, Lambda Invoke and Secrets Manager endpoints all point here (its worker's
 * environment), so every request that arrives is that function's. Each is recorded as the IAM
 * action and resource AWS would authorize, then forwarded (DynamoDB to dynalite, `@connections`
 * and asynchronous invokes to the local server) or answered here (Secrets Manager, and the
 * app's RPC function when it is a Lambda function).
 */

/** One AWS request a function made, as IAM sees it. */
export interface RecordedCall {
  readonly function: CableFunctionName;
  readonly action: string;
  readonly resource: string;
  /** What the request was, for messages: `POST /cable/@connections/abc=`, `DynamoDB_20120810.Query`. */
  readonly request: string;
}

export interface ProxyTargets {
  readonly dynamodbEndpoint: string;
  /** `http://127.0.0.1:<port>`: the local server (`@connections`, Lambda Invoke). */
  readonly serverUrl: string;
  /** `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>`, and the stage's path on the local server (`/cable`). */
  readonly stageArn: string;
  readonly stagePath: string;
  /** Table name (as in the environment) → table ARN. */
  readonly tables: ReadonlyMap<string, string>;
  /** Function name (as in the environment) → function ARN. */
  readonly functions: ReadonlyMap<string, string>;
  /** Secret ARN → its value. */
  readonly secrets: ReadonlyMap<string, string>;
  /** The app's RPC as a Lambda function: its name or ARN (as in the environment) and a payload 2.0 handler. */
  readonly rpcFunction?: { readonly names: readonly string[]; readonly handler: (event: unknown) => Promise<unknown> };
  /** Asked before an asynchronous invoke is forwarded: true answers 429 TooManyRequestsException instead. */
  readonly refuseInvoke?: (functionName: string) => boolean;
}

const DYNAMODB_TARGET = 'DynamoDB_20120810.';
const SECRETS_TARGET = 'secretsmanager.';
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export class RecordingProxy {
  private readonly server: Server;
  url = '';

  constructor(readonly fn: CableFunctionName, private readonly targets: ProxyTargets, private readonly calls: RecordedCall[]) {
    this.server = createServer((req, res) => {
      // Recorded before forwarding: a request whose upstream has gone (the server stopping) was still made.
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(action: string, resource: string, request: string): void {
    this.calls.push({ function: this.fn, action, resource, request });
  }

  /** A request this proxy cannot name an IAM action for: recorded so that the check fails on it. */
  private unclassified(request: string): void {
    this.record('unclassified', '*', request);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readAll(req);
    const path = (req.url ?? '/').split('?')[0];
    const target = String(req.headers['x-amz-target'] ?? '');
    const { targets } = this;

    if (target.startsWith(DYNAMODB_TARGET)) {
      const operation = target.slice(DYNAMODB_TARGET.length);
      for (const resource of dynamoResources(JSON.parse(body.toString('utf8')), targets.tables)) {
        this.record(`dynamodb:${operation}`, resource, target);
      }
      return forward(req, body, res, targets.dynamodbEndpoint);
    }
    if (target.startsWith(SECRETS_TARGET)) return this.secretsManager(target.slice(SECRETS_TARGET.length), body, res);

    const invoke = INVOKE_PATH.exec(path);
    if (invoke && req.method === 'POST') {
      const name = decodeURIComponent(invoke[1]);
      const arn = targets.functions.get(name);
      if (!arn) {
        this.unclassified(`POST ${path}: a function the template does not name`);
        return reply(res, 404, { message: `Function not found: ${name}` }, 'ResourceNotFoundException');
      }
      this.record('lambda:InvokeFunction', arn, `POST ${path}`);
      if (targets.rpcFunction?.names.includes(name)) {
        const result = await targets.rpcFunction.handler(JSON.parse(body.toString('utf8')));
        return reply(res, 200, result);
      }
      if (targets.refuseInvoke?.(name)) {
        return reply(res, 429, { message: 'Rate exceeded', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' }, 'TooManyRequestsException');
      }
      return forward(req, body, res, targets.serverUrl);
    }

    const connection = connectionIdOf(targets.stagePath, path);
    if (connection !== undefined) {
      this.record('execute-api:ManageConnections', `${targets.stageArn}/${req.method}/@connections/${connection}`, `${req.method} ${path}`);
      return forward(req, body, res, targets.serverUrl);
    }

    this.unclassified(`${req.method} ${path} (${target || 'no X-Amz-Target'})`);
    reply(res, 400, { message: 'not an AWS request the IAM check knows' });
  }

  /** A Secrets Manager that knows the template's secrets by ARN, as AWS answers GetSecretValue. */
  private secretsManager(operation: string, body: Buffer, res: ServerResponse): void {
    const { SecretId: id } = JSON.parse(body.toString('utf8')) as { SecretId?: string };
    this.record(`secretsmanager:${operation}`, id ?? '*', `secretsmanager.${operation}`);
    const value = id === undefined ? undefined : this.targets.secrets.get(id);
    if (operation !== 'GetSecretValue' || value === undefined) {
      return reply(res, 400, { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret: ${id}` }, 'ResourceNotFoundException');
    }
    const name = id!.split(':secret:')[1];
    reply(res, 200, { ARN: id, Name: name, SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 0 }, undefined, 'application/x-amz-json-1.1');
  }
}

/**
 * The ARNs a DynamoDB request touches: its table (`TableName`, or each table of `RequestItems`),
 * or `<table>/index/<IndexName>` when it reads an index. Tables the template does not name are
 * recorded as `unknown-table:<name>`, which no policy allows.
 */
export function dynamoResources(
  body: { TableName?: string; IndexName?: string; RequestItems?: Record<string, unknown> },
  tables: ReadonlyMap<string, string>,
): string[] {
  const arn = (name: string) => tables.get(name) ?? `unknown-table:${name}`;
  if (body.RequestItems) return Object.keys(body.RequestItems).map(arn);
  if (!body.TableName) return ['*'];
  return [body.IndexName ? `${arn(body.TableName)}/index/${body.IndexName}` : arn(body.TableName)];
}

/** The connection id of `<stagePath>/@connections/<id>` as sent (`@` may come encoded); undefined: another path. */
function connectionIdOf(stagePath: string, path: string): string | undefined {
  for (const prefix of [`${stagePath}/@connections/`, `${stagePath}/%40connections/`]) {
    if (path.startsWith(prefix)) return decodeURIComponent(path.slice(prefix.length));
  }
  return undefined;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function forward(req: IncomingMessage, body: Buffer, res: ServerResponse, upstream: string): Promise<void> {
  const url = new URL(req.url ?? '/', upstream);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function reply(res: ServerResponse, status: number, body: unknown, errorType?: string, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
  }).end(text);
}
