import { runSimulation } from '@cloud-copilot/iam-simulate';
import { RPC_FUNCTION_NAME } from './configurations';
import { RecordedCall } from './recording-proxy';
import { ACCOUNT, REGION, SynthesizedCable } from './template';
import { ENVIRONMENT_VARIABLES as V, SECRET_VARIABLES } from '../../src/contract/environment';
import { CABLE_FUNCTIONS, CableFunctionName } from '../../src/contract/functions';
import { PERMISSIONS, tableKeyActions } from '../../src/contract/permissions';

/*
 * The recorded calls against the synthesized roles, with a real IAM policy evaluator
 * (@cloud-copilot/iam-simulate: identity policies, and the key policy for KMS); and the other
 * direction, each granted (action, resource) against the calls that used it.
 */

export interface Check {
  readonly function: CableFunctionName;
  readonly action: string;
  readonly resource: string;
  readonly request: string;
  readonly allowed: boolean;
  readonly result: string;
}

export interface Grant {
  readonly function: CableFunctionName;
  readonly action: string;
  readonly resource: string;
}

/** DynamoDB's requests to KMS on the caller's behalf, when a customer managed key encrypts the tables. */
export function withKeyCalls(calls: readonly RecordedCall[], cable: SynthesizedCable): RecordedCall[] {
  const [keyArn] = [...cable.keyPolicies.keys()];
  if (!keyArn) return [...calls];
  return calls.flatMap((call) => {
    if (!call.action.startsWith('dynamodb:')) return [call];
    const keyCalls = tableKeyActions([call.action])
      .map((action) => ({ ...call, action, resource: keyArn, request: `${call.request} (DynamoDB → KMS)` }));
    return [call, ...keyCalls];
  });
}

/** Each distinct (function, action, resource) of `calls`, evaluated against that function's role. */
export async function evaluate(calls: readonly RecordedCall[], cable: SynthesizedCable): Promise<Check[]> {
  const distinct = new Map<string, RecordedCall>();
  for (const call of calls) distinct.set(`${call.function} ${call.action} ${call.resource}`, call);
  const checks: Check[] = [];
  for (const call of distinct.values()) {
    const fn = cable.functions[call.function];
    if (call.action === 'unclassified') {
      checks.push({ ...call, allowed: false, result: `a request the check cannot name an IAM action for: ${call.request}` });
      continue;
    }
    const kms = call.action.startsWith('kms:');
    const simulation = await runSimulation({
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/${fn.logicalId}Role`,
        action: call.action,
        resource: { resource: call.resource, accountId: ACCOUNT },
        contextVariables: kms ? { 'kms:ViaService': `dynamodb.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT } : {},
      },
      identityPolicies: fn.policies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: kms ? cable.keyPolicies.get(call.resource) : undefined,
    }, {});
    if (simulation.resultType === 'error') throw new Error(`${call.function} ${call.action} ${call.resource}: ${simulation.errors.message}`);
    checks.push({ ...call, allowed: simulation.overallResult === 'Allowed', result: simulation.overallResult });
  }
  return checks;
}

/** Every (action, resource) pair each function's policies allow (one per action and resource of each Allow statement). */
export function grantsOf(cable: SynthesizedCable): Grant[] {
  return CABLE_FUNCTIONS.flatMap((name) => cable.functions[name].policies.flatMap(({ policy }) => policy.Statement
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => list(statement.Action)
      .flatMap((action) => list(statement.Resource).map((resource) => ({ function: name, action, resource }))))));
}

/** Whether some call of the grant's function used it (a grant on `<arn>:*`, a function's versions, counts with `<arn>`). */
export function exercised(grant: Grant, calls: readonly RecordedCall[]): boolean {
  const action = glob(grant.action);
  const resources = [glob(grant.resource), ...(grant.resource.endsWith(':*') ? [glob(grant.resource.slice(0, -2))] : [])];
  return calls.some((call) => call.function === grant.function && action.test(call.action) && resources.some((r) => r.test(call.resource)));
}

/**
 * The manifest's reason (src/contract/permissions.ts `unexercised`) for a grant no scenario used:
 * the need of that function whose actions include the grant's and whose resource the grant covers.
 */
export function unexercisedReason(grant: Grant, cable: SynthesizedCable): string | undefined {
  const fn = cable.functions[grant.function];
  const action = glob(grant.action);
  const covers = glob(grant.resource);
  const tableArn = (table: 'connections' | 'subscriptions') => {
    const variable = table === 'connections' ? V.connectionsTable : V.subscriptionsTable;
    const id = Object.values(cable.functions).map((f) => f.environment[variable]).find(Boolean);
    return id ? cable.resources.get(id)?.arn : undefined;
  };
  const stageArn = `arn:aws:execute-api:${REGION}:${ACCOUNT}:${cable.apiId}/${cable.stageName}`;
  for (const need of PERMISSIONS[grant.function].needs) {
    const { resource } = need;
    const arn = resource.kind === 'table' ? `${tableArn(resource.table)}${resource.index ? `/index/${resource.index}` : ''}`
      : resource.kind === 'connections' ? `${stageArn}/${resource.method}/@connections/x`
        : resource.kind === 'function' ? cable.functions[resource.function].arn
          : `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${RPC_FUNCTION_NAME}`;
    const actions = [...need.actions, ...(resource.kind === 'table' ? tableKeyActions(need.actions) : [])];
    const keyGrant = grant.action.startsWith('kms:');
    const needed = actions.some((a) => action.test(a) || glob(a).test(grant.action));
    if (needed && (keyGrant || covers.test(arn)) && need.unexercised) return need.unexercised;
  }
  for (const need of PERMISSIONS[grant.function].secrets) {
    const arn = fn.environment[`${SECRET_VARIABLES[need.secret]}_ARN`];
    if (arn && covers.test(arn) && action.test('secretsmanager:GetSecretValue') && need.unexercised) return need.unexercised;
  }
  return undefined;
}

function list(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

/** IAM's wildcards: `*` any run of characters, `?` one. */
function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('')}$`);
}
