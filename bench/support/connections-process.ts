/** Child process: the fake `@connections` endpoint (fake-connections-api.ts), stats over IPC. */
import { serveParent } from './child-process';
import { FakeConnectionsApiOptions, startFakeConnectionsApi } from './fake-connections-api';

serveParent<FakeConnectionsApiOptions>(async (options) => {
  const api = await startFakeConnectionsApi(options);
  return {
    ready: { endpoint: api.endpoint },
    methods: { stats: () => api.stats(), gapStats: () => api.gapStats(), reset: () => api.reset() },
    shutdown: () => api.close(),
  };
});
