export * from './cable-websocket-api';
export * from './cable-distribution';
