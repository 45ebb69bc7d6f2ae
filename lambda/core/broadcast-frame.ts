import { byteLength, MAX_MESSAGE_BYTES } from './protocol';

/**
 * The frame an ActionCable client expects for a broadcast: `{"identifier":<id>,"message":<data>}`.
 * It is built as a string, not by parsing `data` and encoding the whole again, because `data` is
 * JSON already (AnyCable's `data`, Rails' coder output). Going in verbatim keeps it byte for byte
 * as the app encoded it, and a 100 KB Turbo payload is not parsed and re-encoded once per identifier.
 * The caller must have checked that `data` is valid JSON (`parseBroadcastRequest` does).
 */
export function broadcastFrame(identifier: string, data: string, type?: string): string {
  // anycable-go's hub/gate.go `buildMessage`: `meta.broadcast_type` becomes the frame's `type` (presence events).
  const head = type === undefined ? '' : `"type":${JSON.stringify(type)},`;
  return `{${head}"identifier":${JSON.stringify(identifier)},"message":${data}}`;
}

/** Whether API Gateway would post the frame (its 128 KB message quota). */
export function fitsMessageQuota(frame: string): boolean {
  return byteLength(frame) <= MAX_MESSAGE_BYTES;
}
