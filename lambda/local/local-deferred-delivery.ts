import { DeferredDelivery, DeliveryRequest, Logger } from '../core/ports';

/**
 * Runs the deliver handler in-process on the next turn of the event loop (`setImmediate`), as an
 * asynchronous Lambda invocation would run it elsewhere: `$connect` returns first, so the welcome
 * really races the handshake, as it does in AWS. Unlike Lambda, a failed run is logged, not retried.
 */
export class LocalDeferredDelivery implements DeferredDelivery {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly run: (request: DeliveryRequest) => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  async deliverLater(request: DeliveryRequest): Promise<void> {
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.run(request))
      .then(
        () => undefined,
        // The handler has logged it; Lambda would retry an asynchronous invocation, this does not.
        (error: unknown) => this.logger.warn('local.deliver_not_retried', { connectionId: request.connectionId, error }),
      )
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Resolves once every scheduled delivery has finished, including ones scheduled meanwhile. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
