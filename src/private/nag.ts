import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A reasoned cdk-nag acknowledgement. */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
  /** Finding paths, literally or as `{ regex: '/…/g' }` (cdk-nag's format). */
  readonly appliesTo?: (string | { regex: string })[];
}

/**
 * Writes cdk-nag suppressions as resource metadata, the format cdk-nag reads
 * (`Metadata.cdk_nag.rules_to_suppress`), so users running cdk-nag see the reasons while the
 * library needs no runtime dependency on cdk-nag.
 */
export function acknowledge(construct: IConstruct, acknowledgements: NagAcknowledgement[]): void {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`cannot acknowledge cdk-nag rules on ${construct.node.path}: it has no CloudFormation resource`);
  }
  const existing = (resource.getMetadata('cdk_nag') as { rules_to_suppress?: unknown[] } | undefined)?.rules_to_suppress ?? [];
  resource.addMetadata('cdk_nag', {
    rules_to_suppress: [
      ...existing,
      ...acknowledgements.map((a) => ({ id: a.id, reason: a.reason, ...(a.appliesTo ? { applies_to: a.appliesTo } : {}) })),
    ],
  });
}

/** `@connections/*` in a function's policy: connection ids exist only at run time. */
export function acknowledgeConnectionsWildcard(fn: { readonly role?: IConstruct }): void {
  if (!fn.role) return;
  acknowledge(fn.role.node.findChild('DefaultPolicy'), [{
    id: 'AwsSolutions-IAM5',
    reason: 'Connections are addressed by run-time ids: @connections/* on this API\'s stage only.',
    appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:execute-api:.*\\/@connections\\/\\*$/g' }],
  }]);
}
