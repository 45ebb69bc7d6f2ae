import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CableWebSocketApi, CableWebSocketApiProps } from '../../src';

/** A stack holding one CableWebSocketApi, and its template. */
export function synth(props?: CableWebSocketApiProps): { stack: Stack; cable: CableWebSocketApi; template: Template } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const cable = new CableWebSocketApi(stack, 'Cable', props);
  return { stack, cable, template: Template.fromStack(stack) };
}

export function makeStack(): Stack {
  return new Stack(new App(), 'TestStack');
}

/** The logical id of the single resource of `type` whose logical id contains `fragment`. */
export function logicalId(template: Template, type: string, fragment: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(fragment));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${fragment}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** The policy statements attached to the role of the function whose id contains `fragment`. */
export function statementsOf(template: Template, fragment: string): Array<{ Action: string | string[]; Resource: unknown }> {
  const policyId = logicalId(template, 'AWS::IAM::Policy', `${fragment}ServiceRoleDefaultPolicy`);
  return template.toJSON().Resources[policyId].Properties.PolicyDocument.Statement;
}

export function actionsOf(template: Template, fragment: string): string[] {
  return statementsOf(template, fragment).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
}
