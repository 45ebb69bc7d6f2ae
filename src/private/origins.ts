import { Lazy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { originsOf } from './cloudfront';
import { validateAllowedOrigins } from './validation';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';
import { writeEnvironment } from '../contract/environment';

export function settings(props: CableWebSocketApiProps): AllowedOrigins {
  if (props.allowedOrigins) validateAllowedOrigins(props.allowedOrigins);
  return new AllowedOrigins(props.allowedOrigins, props.allowedOrigins ? [] : originsOf(props.distribution?.domainNames));
}

/**
 * The origins `$connect` accepts: `allowedOrigins` when given; otherwise `https://<domain>` for
 * each domain name the cable is served at (its distribution's, and those `addBehaviorTo` adds
 * later, read at synth time); otherwise any origin.
 */
export class AllowedOrigins {
  constructor(private readonly explicit: string[] | undefined, private readonly defaults: string[]) {}

  /** What the functions are told at construction; undefined: any origin. */
  public get value(): string[] | undefined {
    if (this.explicit) return this.explicit;
    return this.defaults.length > 0 ? [this.lazyDefaults()] : undefined;
  }

  /** Adds default origins after construction (when none are given); only `$connect` checks `Origin`, so only it learns of them. */
  public addDefaults(domainNames: string[], connect: lambda.Function): void {
    if (this.explicit) return;
    const hadDefaults = this.defaults.length > 0;
    this.defaults.push(...originsOf(domainNames).filter((o) => !this.defaults.includes(o)));
    if (hadDefaults || this.defaults.length === 0) return;
    for (const [name, value] of Object.entries(writeEnvironment({ allowedOrigins: [this.lazyDefaults()] }))) connect.addEnvironment(name, value);
  }

  /** The default origins, read at synth time so that `addBehaviorTo` can add to them. */
  private lazyDefaults(): string {
    return Lazy.string({ produce: () => this.defaults.join(',') });
  }
}
