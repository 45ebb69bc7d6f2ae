import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { CableWebSocketApi } from '../../src';
import { CABLE_FUNCTIONS, CableFunctionName } from '../../src/contract/functions';

/*
 * The synthesized template of one configuration, read as AWS would see it: every `Ref`,
 * `Fn::GetAtt`, `Fn::Join` and `Fn::Sub` resolved to the names and ARNs the resources would have
 * in account 123456789012, us-east-1, with each resource named after its logical id.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

type Json = unknown;
interface CfnTemplate { readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, Json> }> }

/** An IAM policy document as the simulator takes it. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: ReadonlyArray<{ readonly Effect: string; readonly Action: string | string[]; readonly Resource: string | string[] }>;
}

export interface SynthesizedFunction {
  readonly name: CableFunctionName;
  readonly logicalId: string;
  readonly arn: string;
  /** The function's environment as the template gives it, resolved. */
  readonly environment: Readonly<Record<string, string>>;
  /** The role's policies (inline and attached AWS::IAM::Policy); managed policy ARNs are left out (logs only). */
  readonly policies: ReadonlyArray<{ readonly name: string; readonly policy: PolicyDocument }>;
  readonly managedPolicyArns: readonly string[];
}

export interface SynthesizedCable {
  readonly functions: Readonly<Record<CableFunctionName, SynthesizedFunction>>;
  /** Every table, function, secret and key by logical id: its type and resolved name (Ref) and ARN. */
  readonly resources: ReadonlyMap<string, { readonly type: string; readonly ref: string; readonly arn?: string }>;
  readonly apiId: string;
  readonly stageName: string;
  /** Key policies by key ARN (KMS needs the key policy to allow as well). */
  readonly keyPolicies: ReadonlyMap<string, PolicyDocument>;
}

const HANDLERS: Record<CableFunctionName, (cable: CableWebSocketApi) => lambda.Function> = {
  connect: (cable) => cable.connectHandler,
  message: (cable) => cable.messageHandler,
  disconnect: (cable) => cable.disconnectHandler,
  deliver: (cable) => cable.deliverHandler,
  broadcast: (cable) => cable.broadcastHandler,
  fanout: (cable) => cable.fanOutHandler,
  ping: (cable) => cable.pingHandler,
};

/** Synthesizes `build(stack)` in a stack of ACCOUNT/REGION and reads the cable's functions back. */
export function synthesize(build: (stack: Stack) => CableWebSocketApi): SynthesizedCable {
  const app = new App();
  const stack = new Stack(app, 'IamCheck', { env: { account: ACCOUNT, region: REGION } });
  const cable = build(stack);
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const resolver = new Resolver(template);
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnResource);

  const functions = Object.fromEntries(CABLE_FUNCTIONS.map((name) => {
    const fn = HANDLERS[name](cable);
    const id = logicalId(fn);
    const properties = template.Resources[id].Properties ?? {};
    const roleId = logicalId(fn.role as unknown as { node: { defaultChild?: unknown } });
    const role = template.Resources[roleId].Properties ?? {};
    const inline = ((role.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: Json }>)
      .map((p) => ({ name: p.PolicyName, policy: resolver.resolve(p.PolicyDocument) as PolicyDocument }));
    const attached = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .filter(([, r]) => ((r.Properties?.Roles ?? []) as Json[]).some((ref) => resolver.resolve(ref) === roleId))
      .map(([policyId, r]) => ({ name: policyId, policy: resolver.resolve(r.Properties!.PolicyDocument) as PolicyDocument }));
    const variables = ((properties.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {});
    const environment = Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, String(resolver.resolve(value))]));
    return [name, {
      name,
      logicalId: id,
      arn: resolver.arnOf(id)!,
      environment,
      policies: [...inline, ...attached],
      managedPolicyArns: ((role.ManagedPolicyArns ?? []) as Json[]).map((arn) => String(resolver.resolve(arn))),
    }];
  })) as unknown as Record<CableFunctionName, SynthesizedFunction>;

  const resources = new Map(Object.entries(template.Resources)
    .map(([id, r]) => [id, { type: r.Type, ref: resolver.refOf(id), arn: resolver.arnOf(id) }]));
  const keyPolicies = new Map(Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::KMS::Key')
    .map(([id, r]) => [resolver.arnOf(id)!, resolver.resolve(r.Properties?.KeyPolicy) as PolicyDocument]));
  const stage = Object.values(template.Resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
  return {
    functions,
    resources,
    apiId: logicalId(cable.webSocketApi),
    stageName: String(stage?.Properties?.StageName),
    keyPolicies,
  };
}

/** CloudFormation's intrinsic functions, as far as the cable's template uses them. */
class Resolver {
  constructor(private readonly template: CfnTemplate) {}

  /** What `Ref` returns for a resource. */
  refOf(id: string): string {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`Ref to ${id}, which is not in the template`);
    if (resource.Type === 'AWS::SecretsManager::Secret') return this.arnOf(id)!;
    if (resource.Type === 'AWS::ApiGatewayV2::Stage') return String(resource.Properties?.StageName);
    return id;
  }

  /** What `Fn::GetAtt [id, Arn]` returns (secrets: their Ref). */
  arnOf(id: string): string | undefined {
    const type = this.template.Resources[id]?.Type;
    switch (type) {
      case 'AWS::DynamoDB::Table': return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}`;
      case 'AWS::Lambda::Function': return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
      case 'AWS::KMS::Key': return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
      case 'AWS::IAM::Role': return `arn:aws:iam::${ACCOUNT}:role/${id}`;
      // Secrets Manager appends six random characters to the name.
      case 'AWS::SecretsManager::Secret': return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
      default: return undefined;
    }
  }

  private getAtt(id: string, attribute: string): string {
    if (attribute === 'Arn') {
      const arn = this.arnOf(id);
      if (arn) return arn;
    }
    if (attribute === 'FunctionUrl') return `https://${id}.lambda-url.${REGION}.on.aws/`;
    if (attribute === 'ApiEndpoint') return `wss://${id}.execute-api.${REGION}.amazonaws.com`;
    return `${id}.${attribute}`;
  }

  private pseudo(name: string): string | undefined {
    return ({
      'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'IamCheck',
    } as Record<string, string>)[name];
  }

  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, Json>);
    if (entries.length === 1) {
      const [[fn, args]] = entries;
      switch (fn) {
        case 'Ref': return this.pseudo(args as string) ?? this.refOf(args as string);
        case 'Fn::GetAtt': {
          const [id, attribute] = typeof args === 'string' ? args.split('.') : args as [string, string];
          return this.getAtt(id, attribute);
        }
        case 'Fn::Join': {
          const [separator, parts] = args as [string, Json[]];
          return (this.resolve(parts) as Json[]).map(String).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = args as [number, Json];
          return (this.resolve(list) as Json[])[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, text] = args as [string, Json];
          return String(this.resolve(text)).split(separator);
        }
        case 'Fn::Sub': {
          const [text, variables = {}] = typeof args === 'string' ? [args, {}] : args as [string, Record<string, Json>];
          return text.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
            if (name in variables) return String(this.resolve(variables[name]));
            const [id, attribute] = name.split('.');
            return attribute ? this.getAtt(id, attribute) : this.pseudo(id) ?? this.refOf(id);
          });
        }
        default:
          if (fn.startsWith('Fn::')) throw new Error(`${fn} is not resolved by test/iam/template.ts`);
      }
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.resolve(item)]));
  }
}
