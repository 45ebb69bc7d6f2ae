import { LogFields, Logger } from '../core/ports';

/** What Lambda passes as the second argument; only the request id is read. */
export interface LambdaContext {
  readonly awsRequestId?: string;
}

/**
 * The handler's dependencies with a logger that adds the event's ids (request id, connection id)
 * to every line, so one request's lines can be found together; undefined ids are left out.
 */
export function withLogContext<T extends { readonly logger: Logger }>(deps: T, fields: LogFields): T {
  const context = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  if (Object.keys(context).length === 0) return deps;
  const base = deps.logger;
  const logger: Logger = {
    info: (event, extra) => base.info(event, { ...context, ...extra }),
    warn: (event, extra) => base.warn(event, { ...context, ...extra }),
    error: (event, extra) => base.error(event, { ...context, ...extra }),
  };
  return { ...deps, logger };
}
