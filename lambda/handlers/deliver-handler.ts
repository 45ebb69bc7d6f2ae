import { guarded } from './guard';
import { deliver, DeliverDeps, DeliverResult } from '../core/deliver';
import { DeliveryRequest } from '../core/ports';

/** Invoked asynchronously by `$connect` with the frames a just-opened connection must get. */
export function makeDeliverHandler(deps: () => Promise<DeliverDeps>) {
  return async (event: DeliveryRequest): Promise<DeliverResult> => {
    let resolved: DeliverDeps | undefined;
    return guarded('deliver', event.connectionId, () => resolved?.logger, async () => {
      resolved = await deps();
      return deliver(resolved, event);
    });
  };
}
