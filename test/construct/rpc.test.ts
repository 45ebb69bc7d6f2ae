import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { actionsOf, logicalId, statementsOf } from './support';
import { CableRpc, CableWebSocketApi, CableWebSocketApiProps } from '../../src';
import { readEnvironment } from '../../src/contract/environment';

const APP_URL = 'https://app.example.com/_anycable';
/** The handlers that talk to the app's RPC. */
const RPC_HANDLERS = ['Connect', 'Message', 'Disconnect'] as const;
/** The handlers that may find a connection gone before its `$disconnect`, and then tell the app (forget-connection.ts). */
const CLEANUP_HANDLERS = ['Broadcast', 'FanOut', 'Ping'] as const;
/** The handler that never talks to the app. */
const OTHER_HANDLERS = ['Deliver'] as const;
const ALL_HANDLERS = [...RPC_HANDLERS, ...CLEANUP_HANDLERS, ...OTHER_HANDLERS];
const READ_SECRET = 'secretsmanager:GetSecretValue';

/** A stack holding one CableWebSocketApi whose props may refer to other resources of the stack. */
function synthWith(build: (stack: Stack) => CableWebSocketApiProps = () => ({})): { stack: Stack; template: Template } {
  const stack = new Stack(new App(), 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  new CableWebSocketApi(stack, 'Cable', build(stack));
  return { stack, template: Template.fromStack(stack) };
}

/** The app on Lambda that RPC calls reach (a Rails app with Lamby, say). */
function railsApp(stack: Stack): lambda.Function {
  return new lambda.Function(stack, 'RailsApp', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
  });
}

function environmentOf(template: Template, name: string): Record<string, unknown> {
  return template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', `${name}Handler`)].Properties.Environment.Variables;
}

/** Matches the default policy of the `<name>Handler` function's role. */
function policyOf(template: Template, name: string, statement: Record<string, unknown>): Record<string, unknown> {
  return {
    Roles: [{ Ref: logicalId(template, 'AWS::IAM::Role', `${name}HandlerServiceRole`) }],
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike(statement)]) },
  };
}

/** Resources of the `<name>Handler` statements that allow `action`, as JSON. */
function resourcesAllowing(template: Template, name: string, action: string): string {
  return JSON.stringify(statementsOf(template, `${name}Handler`).filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource));
}

/** The functions `$connect` invokes besides the app: the deferred welcome, and the pinger when it had gone idle. */
function connectStarts(template: Template): Set<string> {
  return functionArns(template, 'DeliverHandler', 'PingHandler');
}

/** The message function hands whispers to the fan-out function (lambda/core/whisper.ts). */
function messageStarts(template: Template): Set<string> {
  return functionArns(template, 'FanOutHandler');
}

function functionArns(template: Template, ...fragments: string[]): Set<string> {
  return new Set(fragments.map((fragment) => JSON.stringify({ 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function', fragment), 'Arn'] })));
}

/** Resources as a set, whatever the order of the statements. */
function asSet(resources: unknown[]): Set<string> {
  return new Set(resources.map((resource) => JSON.stringify(resource)));
}

describe('rpc: fromUrl', () => {
  const { template } = synthWith(() => ({ rpc: CableRpc.fromUrl(APP_URL) }));

  test.each(RPC_HANDLERS)('fromUrl: CABLE_RPC_HOST reaches the %s handler', (name) => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp(name === 'Message' ? '\\$default' : `\\$${name.toLowerCase()}`),
      Environment: { Variables: Match.objectLike({ CABLE_RPC_HOST: APP_URL }) },
    });
    expect(environmentOf(template, name).CABLE_RPC_HOST).toBe(APP_URL);
  });

  test.each(CLEANUP_HANDLERS)('fromUrl: the %s handler, which may find connections gone, learns where the app is and may read the common secret', (name) => {
    expect(environmentOf(template, name)).toMatchObject({ CABLE_RPC_HOST: APP_URL, CABLE_SECRET_ARN: expect.anything() });
    expect(resourcesAllowing(template, name, 'secretsmanager:GetSecretValue')).toContain('CableSecret');
  });

  test.each(OTHER_HANDLERS)('fromUrl: the %s handler learns nothing of RPC', (name) => {
    const names = Object.keys(environmentOf(template, name));
    expect(names.filter((n) => n.startsWith('CABLE_RPC_') || n === 'CABLE_HTTP_RPC_SECRET_ARN')).toEqual([]);
  });

  test('fromUrl: the defaults are the runtime\'s (no timeout, attempts, headers or cookies variables)', () => {
    for (const name of RPC_HANDLERS) {
      const env = environmentOf(template, name);
      for (const variable of ['CABLE_RPC_TIMEOUT', 'CABLE_RPC_MAX_ATTEMPTS', 'CABLE_RPC_HEADERS', 'CABLE_RPC_COOKIES', 'CABLE_RPC_FUNCTION', 'CABLE_HTTP_RPC_SECRET_ARN']) {
        expect(env[variable]).toBeUndefined();
      }
    }
  });

  test('fromUrl: a URL reached over HTTP needs no lambda:InvokeFunction beyond connect\'s deliver and ping functions and message\'s fan-out', () => {
    const messageInvokes = statementsOf(template, 'MessageHandler').filter((s) => [s.Action].flat().includes('lambda:InvokeFunction')).map((s) => s.Resource);
    expect(asSet(messageInvokes)).toEqual(messageStarts(template));
    expect(actionsOf(template, 'DisconnectHandler')).not.toContain('lambda:InvokeFunction');
    const invoked = statementsOf(template, 'ConnectHandler').filter((s) => [s.Action].flat().includes('lambda:InvokeFunction')).map((s) => s.Resource);
    expect(asSet(invoked)).toEqual(connectStarts(template));
  });

  test('fromUrl: http:// URLs with a port are accepted', () => {
    const { template: local } = synthWith(() => ({ rpc: CableRpc.fromUrl('http://localhost:3000/_anycable') }));
    expect(environmentOf(local, 'Connect').CABLE_RPC_HOST).toBe('http://localhost:3000/_anycable');
  });
});

describe('rpc: options', () => {
  const { template } = synthWith(() => ({
    rpc: CableRpc.fromUrl(APP_URL, {
      timeout: Duration.seconds(5),
      maxAttempts: 5,
      headers: ['cookie', 'x-api-token', 'origin'],
      cookies: ['_app_session', 'remember_token'],
    }),
  }));

  test.each(RPC_HANDLERS)('timeout, maxAttempts, headers, cookies: reach the %s handler (timeout in ms)', (name) => {
    expect(environmentOf(template, name)).toMatchObject({
      CABLE_RPC_TIMEOUT: '5000',
      CABLE_RPC_MAX_ATTEMPTS: '5',
      CABLE_RPC_HEADERS: 'cookie,x-api-token,origin',
      CABLE_RPC_COOKIES: '_app_session,remember_token',
    });
  });

  test('timeout: milliseconds are kept as given', () => {
    const { template: t } = synthWith(() => ({ rpc: CableRpc.fromUrl(APP_URL, { timeout: Duration.millis(1500) }) }));
    expect(environmentOf(t, 'Connect').CABLE_RPC_TIMEOUT).toBe('1500');
  });

  test('timeout, maxAttempts, headers, cookies: the runtime reads back what the construct writes', () => {
    const env = readEnvironment(environmentOf(template, 'Message') as Record<string, string>);
    expect(env.rpc).toEqual({ kind: 'http', url: APP_URL, timeoutMs: 5000, maxAttempts: 5 });
    expect(env.rpcHeaders).toEqual(['cookie', 'x-api-token', 'origin']);
    expect(env.rpcCookies).toEqual(['_app_session', 'remember_token']);
  });

  test('headers: an empty list is passed as such (no handshake header reaches the app)', () => {
    const { template: t } = synthWith(() => ({ rpc: CableRpc.fromUrl(APP_URL, { headers: [] }) }));
    expect(environmentOf(t, 'Connect').CABLE_RPC_HEADERS).toBe('');
  });
});

describe('rpc: secret', () => {
  const { template } = synthWith((stack) => ({
    rpc: CableRpc.fromUrl(APP_URL, { secret: new secretsmanager.Secret(stack, 'RpcKey') }),
  }));
  const rpcKey = { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'RpcKey') };

  test.each(RPC_HANDLERS)('secret: CABLE_HTTP_RPC_SECRET_ARN reaches the %s handler, which may read it', (name) => {
    expect(environmentOf(template, name).CABLE_HTTP_RPC_SECRET_ARN).toEqual(rpcKey);
    template.hasResourceProperties('AWS::IAM::Policy', policyOf(template, name, { Action: READ_SECRET, Resource: rpcKey }));
  });

  test.each(CLEANUP_HANDLERS)('secret: the %s handler learns and may read the RPC key (to tell the app of gone connections)', (name) => {
    expect(environmentOf(template, name).CABLE_HTTP_RPC_SECRET_ARN).toEqual(rpcKey);
    template.hasResourceProperties('AWS::IAM::Policy', policyOf(template, name, { Action: READ_SECRET, Resource: rpcKey }));
  });

  test.each(OTHER_HANDLERS)('secret: the %s handler neither learns nor reads the RPC key', (name) => {
    expect(environmentOf(template, name).CABLE_HTTP_RPC_SECRET_ARN).toBeUndefined();
    expect(JSON.stringify(template.toJSON().Resources[logicalId(template, 'AWS::IAM::Policy', `${name}HandlerServiceRoleDefaultPolicy`)] ?? {}))
      .not.toContain(rpcKey.Ref);
  });

  test('secret: unset, the key is derived from the common secret, which connect, message and disconnect read', () => {
    const { template: t } = synthWith(() => ({ rpc: CableRpc.fromUrl(APP_URL) }));
    const common = { Ref: logicalId(t, 'AWS::SecretsManager::Secret', 'CableSecret') };
    for (const name of RPC_HANDLERS) {
      expect(environmentOf(t, name).CABLE_SECRET_ARN).toEqual(common);
      t.hasResourceProperties('AWS::IAM::Policy', policyOf(t, name, { Action: READ_SECRET, Resource: common }));
    }
  });
});

describe('rpc: fromFunction', () => {
  const { template } = synthWith((stack) => ({ rpc: CableRpc.fromFunction(railsApp(stack)) }));
  const appArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function', 'RailsApp'), 'Arn'] };

  test.each(RPC_HANDLERS)('fromFunction: the %s handler gets the function ARN and the default path /_anycable', (name) => {
    const env = environmentOf(template, name);
    expect(env).toMatchObject({ CABLE_RPC_FUNCTION: appArn, CABLE_RPC_PATH: '/_anycable' });
    expect(env.CABLE_RPC_HOST).toBeUndefined();
    expect(env.CABLE_RPC_HTTP_HOST).toBeUndefined();
  });

  test.each(CLEANUP_HANDLERS)('fromFunction: the %s handler learns of and may invoke the app (to tell it of gone connections)', (name) => {
    expect(environmentOf(template, name)).toMatchObject({ CABLE_RPC_FUNCTION: appArn, CABLE_RPC_PATH: '/_anycable' });
    expect(resourcesAllowing(template, name, 'lambda:InvokeFunction')).toContain('RailsApp');
  });

  test.each(OTHER_HANDLERS)('fromFunction: the %s handler neither learns of nor may invoke the app', (name) => {
    const env = environmentOf(template, name);
    expect(env.CABLE_RPC_FUNCTION).toBeUndefined();
    expect(env.CABLE_RPC_PATH).toBeUndefined();
    expect(resourcesAllowing(template, name, 'lambda:InvokeFunction')).not.toContain('RailsApp');
  });

  test.each(RPC_HANDLERS)('fromFunction: the %s handler may invoke the app function only', (name) => {
    const invokes = statementsOf(template, `${name}Handler`).filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    const [onApp, ...more] = invokes.filter((s) => JSON.stringify(s.Resource).includes('RailsApp'));
    expect(more).toEqual([]);
    // The function's ARN (what CABLE_RPC_FUNCTION names), at most with its versions and aliases.
    const [arn, ...qualified] = [onApp.Resource].flat();
    expect(arn).toEqual(appArn);
    expect(qualified).toEqual(qualified.length ? [{ 'Fn::Join': ['', [appArn, ':*']] }] : []);
    // connect also starts the deferred welcome delivery and an idle pinger, message a whisper's fan-out; nothing else is invoked.
    const others = invokes.filter((s) => s !== onApp).map((s) => s.Resource);
    expect(asSet(others)).toEqual(name === 'Connect' ? connectStarts(template) : name === 'Message' ? messageStarts(template) : new Set());
  });

  test('fromFunction: the app function is not changed (no resource policy, no new permission)', () => {
    const permissions = template.findResources('AWS::Lambda::Permission');
    expect(JSON.stringify(permissions)).not.toContain('RailsApp');
  });

  test('path, host: custom values reach the handlers', () => {
    const { template: t } = synthWith((stack) => ({
      rpc: CableRpc.fromFunction(railsApp(stack), { path: '/cable-rpc/v1', host: 'app.example.com', timeout: Duration.seconds(2), maxAttempts: 2 }),
    }));
    for (const name of RPC_HANDLERS) {
      expect(environmentOf(t, name)).toMatchObject({
        CABLE_RPC_PATH: '/cable-rpc/v1',
        CABLE_RPC_HTTP_HOST: 'app.example.com',
        CABLE_RPC_TIMEOUT: '2000',
        CABLE_RPC_MAX_ATTEMPTS: '2',
      });
    }
  });

  test('fromFunction: the runtime reads back a Lambda target', () => {
    const { template: t } = synthWith((stack) => ({
      rpc: CableRpc.fromFunction(lambda.Function.fromFunctionArn(stack, 'Imported', 'arn:aws:lambda:eu-west-1:123456789012:function:rails'), {
        path: '/rpc', host: 'app.example.com',
      }),
    }));
    expect(readEnvironment(environmentOf(t, 'Disconnect') as Record<string, string>).rpc).toEqual({
      kind: 'lambda', functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:rails', path: '/rpc', host: 'app.example.com', timeoutMs: 8000,
    });
  });

  test('timeout: fromFunction waits 8 s unless told (a Rails cold start on Lambda), fromUrl 3 s (the runtime\'s default)', () => {
    const rpcOf = (rpc: (stack: Stack) => CableRpc) => readEnvironment(environmentOf(synthWith((stack) => ({ rpc: rpc(stack) })).template, 'Connect') as Record<string, string>).rpc;
    const appFunction = (stack: Stack) => lambda.Function.fromFunctionArn(stack, 'App', 'arn:aws:lambda:eu-west-1:123456789012:function:rails');
    expect(rpcOf((stack) => CableRpc.fromFunction(appFunction(stack)))).toMatchObject({ kind: 'lambda', timeoutMs: 8000 });
    expect(rpcOf((stack) => CableRpc.fromFunction(appFunction(stack), { timeout: Duration.seconds(2) }))).toMatchObject({ kind: 'lambda', timeoutMs: 2000 });
    expect(rpcOf(() => CableRpc.fromUrl(APP_URL))).not.toHaveProperty('timeoutMs');
  });

  test('fromFunction: an imported function is invoked by its ARN', () => {
    const { template: t } = synthWith((stack) => ({
      rpc: CableRpc.fromFunction(lambda.Function.fromFunctionArn(stack, 'Imported', 'arn:aws:lambda:eu-west-1:123456789012:function:rails')),
    }));
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:rails';
    expect(environmentOf(t, 'Message').CABLE_RPC_FUNCTION).toBe(arn);
    const invoke = statementsOf(t, 'MessageHandler').find((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    expect([invoke?.Resource].flat()[0]).toBe(arn);
  });
});

describe('rpc: connection state (least privilege)', () => {
  const withRpc = synthWith(() => ({ rpc: CableRpc.fromUrl(APP_URL) })).template;
  const withoutRpc = synthWith().template;
  const connectionsTable = (template: Template) => ({ 'Fn::GetAtt': [logicalId(template, 'AWS::DynamoDB::Table', 'ConnectionsTable'), 'Arn'] });

  test.each(['dynamodb:GetItem', 'dynamodb:UpdateItem'])('rpc: the message handler may %s connection rows (app channel state)', (action) => {
    withRpc.hasResourceProperties('AWS::IAM::Policy', policyOf(withRpc, 'Message', { Action: action, Resource: connectionsTable(withRpc) }));
  });

  // Least privilege as a whole is proven by `npx projen iam:check` (no grant unused); these pin requirements.
  test('rpc: the disconnect handler gets the row it tells the app about from its DeleteItem, never a GetItem', () => {
    const actions = actionsOf(withRpc, 'DisconnectHandler');
    expect(actions).toContain('dynamodb:DeleteItem');
    expect(actions).not.toContain('dynamodb:GetItem');
  });

  test('rpc: connect puts connection rows and deletes its own when the welcome cannot be handed on; it never reads them', () => {
    const actions = actionsOf(withRpc, 'ConnectHandler');
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:DeleteItem', 'dynamodb:PutItem']));
    // Its GetItem is the pinger's lease, in the subscriptions table (ping-lease.ts); its UpdateItem
    // on connection rows counts a restored session's subscriptions (session-restore.ts).
    const reads = statementsOf(withRpc, 'ConnectHandler')
      .filter((s) => [s.Action].flat().some((action) => action === 'dynamodb:GetItem'));
    expect(reads.length).toBeGreaterThan(0);
    expect(JSON.stringify(reads.map((s) => s.Resource))).not.toContain(logicalId(withRpc, 'AWS::DynamoDB::Table', 'ConnectionsTable'));
  });

  test('rpc: unset, disconnect may neither read nor update connection rows; message updates them (the limits\' counts) and reads one per subscribe (its sid: the ext protocol)', () => {
    expect(actionsOf(withoutRpc, 'DisconnectHandler')).not.toContain('dynamodb:GetItem');
    const table = logicalId(withoutRpc, 'AWS::DynamoDB::Table', 'ConnectionsTable');
    // It updates presence items in the subscriptions table (forget-connection.ts), never a connection row.
    const disconnectOnConnections = statementsOf(withoutRpc, 'DisconnectHandler')
      .filter((statement) => JSON.stringify(statement.Resource).includes(table))
      .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]));
    expect(disconnectOnConnections).not.toContain('dynamodb:UpdateItem');
    const onConnections = statementsOf(withoutRpc, 'MessageHandler')
      .filter((statement) => JSON.stringify(statement.Resource).includes(table))
      .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]));
    expect(onConnections.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
  });

  test('rpc: unset, the disconnect handler gets no secret and may read none', () => {
    const { template } = synthWith((stack) => ({ jwtSecret: new secretsmanager.Secret(stack, 'JwtKey') }));
    const names = Object.keys(environmentOf(template, 'Disconnect'));
    expect(names.filter((n) => n.endsWith('SECRET_ARN') || n.startsWith('CABLE_JWT_') || n.startsWith('CABLE_RPC_'))).toEqual([]);
    expect(actionsOf(template, 'DisconnectHandler').filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
  });

  test('rpc: unset, no handler learns of RPC', () => {
    for (const name of ALL_HANDLERS) {
      expect(Object.keys(environmentOf(withoutRpc, name)).filter((n) => n.includes('RPC'))).toEqual([]);
    }
  });
});

describe('jwt', () => {
  test('jwtSecret: CABLE_JWT_SECRET_ARN reaches connect, which may read it', () => {
    const { template } = synthWith((stack) => ({ jwtSecret: new secretsmanager.Secret(stack, 'JwtKey') }));
    const jwtKey = { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'JwtKey') };
    expect(environmentOf(template, 'Connect').CABLE_JWT_SECRET_ARN).toEqual(jwtKey);
    template.hasResourceProperties('AWS::IAM::Policy', policyOf(template, 'Connect', { Action: READ_SECRET, Resource: jwtKey }));
  });

  test('jwtSecret: without rpc, only connect learns and reads the JWT key', () => {
    const { template } = synthWith((stack) => ({ jwtSecret: new secretsmanager.Secret(stack, 'JwtKey') }));
    const jwtKey = logicalId(template, 'AWS::SecretsManager::Secret', 'JwtKey');
    for (const name of ALL_HANDLERS.filter((n) => n !== 'Connect')) {
      expect(environmentOf(template, name).CABLE_JWT_SECRET_ARN).toBeUndefined();
      expect(resourcesAllowing(template, name, 'secretsmanager:GetSecretValue')).not.toContain(jwtKey);
    }
  });

  test('jwtSecret: unset, no JWT variables (the runtime keys JWTs with the common secret)', () => {
    const env = environmentOf(synthWith().template, 'Connect');
    expect(env.CABLE_JWT_SECRET_ARN).toBeUndefined();
    expect(env.CABLE_JWT_PARAM).toBeUndefined();
    expect(env.CABLE_ENFORCE_JWT).toBeUndefined();
  });

  test('jwtParam, enforceJwt: reach the connect handler', () => {
    const { template } = synthWith(() => ({ jwtParam: 'token', enforceJwt: true }));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('\\$connect'),
      Environment: { Variables: Match.objectLike({ CABLE_JWT_PARAM: 'token', CABLE_ENFORCE_JWT: 'true' }) },
    });
  });

  test('enforceJwt: false is passed explicitly', () => {
    expect(environmentOf(synthWith(() => ({ enforceJwt: false })).template, 'Connect').CABLE_ENFORCE_JWT).toBe('false');
  });

  test('jwtSecret, jwtParam, enforceJwt: only connect verifies tokens, so with rpc message and disconnect get neither the settings nor the key', () => {
    const { template } = synthWith((stack) => ({
      rpc: CableRpc.fromUrl(APP_URL),
      jwtSecret: new secretsmanager.Secret(stack, 'JwtKey'),
      jwtParam: 'token',
      enforceJwt: true,
    }));
    const jwtKey = { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'JwtKey') };
    expect(environmentOf(template, 'Connect')).toMatchObject({ CABLE_JWT_SECRET_ARN: jwtKey, CABLE_JWT_PARAM: 'token', CABLE_ENFORCE_JWT: 'true' });
    for (const name of ['Message', 'Disconnect']) {
      const environment = environmentOf(template, name);
      expect(environment.CABLE_RPC_HOST).toBe(APP_URL);
      for (const key of ['CABLE_JWT_SECRET_ARN', 'CABLE_JWT_PARAM', 'CABLE_ENFORCE_JWT']) expect(environment[key]).toBeUndefined();
      expect(JSON.stringify(template.findResources('AWS::IAM::Policy', policyOf(template, name, { Resource: jwtKey })))).toBe('{}');
    }
  });
});

describe('secrets: every handler may read each secret it is told of', () => {
  // The handlers read every *_SECRET_ARN of their environment at a cold start
  // (lambda/handlers/lambda-runtime.ts): one without a grant fails every invocation.
  test.each([
    ['no rpc', false],
    ['rpc', true],
  ])('secrets: %s, with every secret given', (_, rpc) => {
    const { template } = synthWith((stack) => {
      const secret = (id: string) => new secretsmanager.Secret(stack, id);
      return {
        secret: secret('Common'),
        turboStreamsSecret: secret('Turbo'),
        streamsSecret: secret('Streams'),
        broadcastKey: secret('BroadcastKey'),
        jwtSecret: secret('JwtKey'),
        ...(rpc ? { rpc: CableRpc.fromUrl(APP_URL, { secret: secret('RpcKey') }) } : {}),
      };
    });
    const unreadable = ALL_HANDLERS.flatMap((name) => {
      const readable = resourcesAllowing(template, name, 'secretsmanager:GetSecretValue');
      return Object.entries(environmentOf(template, name))
        .filter(([variable]) => variable.endsWith('_SECRET_ARN') || variable === 'CABLE_BROADCAST_KEY_ARN')
        .filter(([, value]) => !readable.includes(JSON.stringify(value)))
        .map(([variable]) => `${name}: ${variable}`);
    });
    expect(unreadable).toEqual([]);
  });
});

describe('rpc: validation', () => {
  test.each([
    ['ftp://x'],
    ['not a url'],
    ['https://'],
    ['https://app.example.com/_any cable'],
  ])('fromUrl: %j fails with the prop name and the value', (url) => {
    expect(() => CableRpc.fromUrl(url)).toThrow(/^`rpc` URL must be an http:\/\/ or https:\/\/ URL/);
    expect(() => CableRpc.fromUrl(url)).toThrow(url);
  });

  test.each([
    ['50 ms', Duration.millis(50), /`rpc` timeout must be from 100 ms to 8 s.*got 50 millis/],
    ['9 s', Duration.seconds(9), /`rpc` timeout must be from 100 ms to 8 s.*got 9 seconds/],
  ])('timeout: %s fails with the prop name', (_, timeout, message) => {
    expect(() => CableRpc.fromUrl(APP_URL, { timeout })).toThrow(message);
    expect(() => CableRpc.fromFunction(lambda.Function.fromFunctionName(new Stack(), 'App', 'app'), { timeout })).toThrow(message);
  });

  test.each([
    [Duration.millis(100)],
    [Duration.seconds(8)],
  ])('timeout: the bounds %s are accepted', (timeout) => {
    expect(() => CableRpc.fromUrl(APP_URL, { timeout })).not.toThrow();
  });

  test.each([[0], [1.5], [11]])('maxAttempts: %p fails with the prop name', (maxAttempts) => {
    expect(() => CableRpc.fromUrl(APP_URL, { maxAttempts })).toThrow(new RegExp(`\`rpc\` maxAttempts must be a whole number from 1 to 10, got ${maxAttempts}`));
  });

  test.each([
    [{ headers: ['x api token'] }, /`rpc` headers and cookies must be names .* got "x api token"/],
    [{ headers: ['x-token:'] }, /`rpc` headers and cookies .* got "x-token:"/],
    [{ cookies: ['a;b'] }, /`rpc` headers and cookies .* got "a;b"/],
  ])('headers, cookies: %j fails with the prop name', (options, message) => {
    expect(() => CableRpc.fromUrl(APP_URL, options)).toThrow(message);
  });

  test.each([
    ['no-slash'],
    ['/a?b'],
    ['/a#b'],
    ['/a b'],
  ])('path: %j fails with the prop name', (path) => {
    const app = lambda.Function.fromFunctionName(new Stack(), 'App', 'app');
    expect(() => CableRpc.fromFunction(app, { path })).toThrow(/^`rpc` path must start with "\/" and hold no "\?", "#" or spaces/);
    expect(() => CableRpc.fromFunction(app, { path })).toThrow(`got "${path}"`);
  });

  test.each([['bad param'], ['jid='], ['']])('jwtParam: %j fails at synth with the prop name', (jwtParam) => {
    expect(() => synthWith(() => ({ jwtParam }))).toThrow(new RegExp(`^\`jwtParam\` must be a query parameter .* got "${jwtParam}"`));
  });

  test('tokens: deploy-time values are not validated at synth and reach the handlers as references', () => {
    const { template } = synthWith((stack) => {
      const text = (id: string) => new CfnParameter(stack, id, { type: 'String' }).valueAsString;
      const number = (id: string) => new CfnParameter(stack, id, { type: 'Number' }).valueAsNumber;
      return {
        rpc: CableRpc.fromUrl(text('RpcUrl'), {
          timeout: Duration.millis(number('RpcTimeout')),
          maxAttempts: number('RpcAttempts'),
          headers: [text('RpcHeader')],
        }),
        jwtParam: text('JwtParam'),
      };
    });
    expect(environmentOf(template, 'Connect')).toMatchObject({
      CABLE_RPC_HOST: { Ref: 'RpcUrl' },
      CABLE_RPC_TIMEOUT: { Ref: 'RpcTimeout' },
      CABLE_RPC_MAX_ATTEMPTS: { Ref: 'RpcAttempts' },
      CABLE_RPC_HEADERS: { Ref: 'RpcHeader' },
      CABLE_JWT_PARAM: { Ref: 'JwtParam' },
    });
  });

  test('tokens: a deploy-time path is not validated at synth', () => {
    const { template } = synthWith((stack) => ({
      rpc: CableRpc.fromFunction(railsApp(stack), { path: new CfnParameter(stack, 'RpcPath', { type: 'String' }).valueAsString }),
    }));
    expect(environmentOf(template, 'Message').CABLE_RPC_PATH).toEqual({ Ref: 'RpcPath' });
  });
});
