export * from './cable-websocket-api';
