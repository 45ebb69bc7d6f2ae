export * from './cable-websocket-api';
export * from './cable-distribution';
export * from './cable-retry-policy';
export * from './cable-rpc';
export * from './cable-websocket-api-props';
