import { emitMetrics } from '../../lambda/adapters/emf-metrics';
import { RecordingLogger } from '../support/recording-logger';

describe('emitMetrics', () => {
  test('values: a line with every count, zeros included, when one of them is not zero', () => {
    const logger = new RecordingLogger();
    emitMetrics(logger, 'api1', { Pings: 3, GoneConnections: 0 });
    expect(logger.entries.filter((e) => e.event === 'metrics').map((e) => e.fields)).toEqual([expect.objectContaining({
      ApiId: 'api1',
      Pings: 3,
      GoneConnections: 0,
      _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Metrics: [{ Name: 'Pings', Unit: 'Count' }, { Name: 'GoneConnections', Unit: 'Count' }] })] }),
    })]);
  });

  test('values: no line when every count is zero (an idle pinger bills no custom metric)', () => {
    const logger = new RecordingLogger();
    emitMetrics(logger, 'api1', { Pings: 0, GoneConnections: 0, PingFailures: 0 });
    emitMetrics(logger, 'api1', {});
    expect(logger.entries.filter((e) => e.event === 'metrics')).toEqual([]);
  });
});
