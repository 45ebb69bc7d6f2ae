import { guarded, HandlerOptions } from './guard';
import { LambdaContext, withLogContext } from './log-context';
import { deliver, DeliverDeps, DeliverResult } from '../core/deliver';
import { DeliveryRequest } from '../core/ports';

/** Invoked asynchronously by `$connect` with the frames a just-opened connection must get. */
export function makeDeliverHandler(deps: () => Promise<DeliverDeps>, options: HandlerOptions = {}) {
  return async (event: DeliveryRequest, context?: LambdaContext): Promise<DeliverResult> => {
    let resolved: DeliverDeps | undefined;
    return guarded('deliver', event.connectionId, () => resolved?.logger, options, async () => {
      resolved = withLogContext(await deps(), { requestId: context?.awsRequestId, connectionId: event.connectionId });
      return deliver(resolved, event);
    });
  };
}
