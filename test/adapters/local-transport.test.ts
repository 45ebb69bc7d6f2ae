import { ConnectionGoneError } from '../../lambda/core/errors';
import { DeliveryRequest, Transport } from '../../lambda/core/ports';
import { LocalDeferredDelivery } from '../../lambda/local/local-deferred-delivery';
import { LocalConnections, LocalTransport, PostOutcome } from '../../lambda/local/local-transport';
import { RecordingLogger } from '../support/local-server';

/** Sockets whose answer to a post is set by the test. */
class ScriptedConnections implements LocalConnections {
  outcome: PostOutcome = 'sent';
  open = true;
  readonly posted: string[] = [];

  post(_connectionId: string, data: string): PostOutcome {
    if (this.outcome === 'sent') this.posted.push(data);
    return this.outcome;
  }

  disconnect(): boolean {
    const was = this.open;
    this.open = false;
    return was;
  }
}

describe('LocalTransport', () => {
  test.each([
    ['sent', undefined],
    ['gone', ConnectionGoneError],
  ] as const)('send: %s', async (outcome, error) => {
    const connections = new ScriptedConnections();
    connections.outcome = outcome;
    const transport = new LocalTransport(connections) satisfies Transport;
    if (error) await expect(transport.send('id=', 'frame')).rejects.toBeInstanceOf(error);
    else await expect(transport.send('id=', 'frame')).resolves.toBeUndefined();
  });

  test('send: over 128 KB is a PayloadTooLargeException, as the SDK names it', async () => {
    const connections = new ScriptedConnections();
    connections.outcome = 'too_large';
    await expect(new LocalTransport(connections).send('id=', 'x')).rejects.toMatchObject({ name: 'PayloadTooLargeException' });
  });

  test('close: a gone connection is not an error', async () => {
    const connections = new ScriptedConnections();
    const transport = new LocalTransport(connections);
    await transport.close('id=');
    await expect(transport.close('id=')).resolves.toBeUndefined();
  });
});

describe('LocalDeferredDelivery', () => {
  const request: DeliveryRequest = { connectionId: 'id=', frames: ['{"type":"welcome"}'], deadline: Number.MAX_SAFE_INTEGER };

  test('deliverLater: returns before the delivery runs, which runs on a later turn', async () => {
    const runs: DeliveryRequest[] = [];
    const delivery = new LocalDeferredDelivery(async (r) => runs.push(r), new RecordingLogger());
    await delivery.deliverLater(request);
    expect(runs).toEqual([]);
    await delivery.drain();
    expect(runs).toEqual([request]);
  });

  test('deliverLater: a failed run is logged, not retried', async () => {
    const logger = new RecordingLogger();
    let runs = 0;
    const delivery = new LocalDeferredDelivery(async () => {
      runs++;
      throw new Error('boom');
    }, logger);
    await delivery.deliverLater(request);
    await delivery.drain();
    expect(runs).toBe(1);
    expect(logger.events()).toEqual(['local.deliver_not_retried']);
  });
});
