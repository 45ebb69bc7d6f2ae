import { deliver, DeliverDeps, DeliverResult } from '../core/deliver';
import { DeliveryRequest } from '../core/ports';

/** Invoked asynchronously by `$connect` with the frames a just-opened connection must get. */
export function makeDeliverHandler(deps: () => Promise<DeliverDeps>) {
  return async (event: DeliveryRequest): Promise<DeliverResult> => deliver(await deps(), event);
}
