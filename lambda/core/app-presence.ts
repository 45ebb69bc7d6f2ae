import { CableConfig } from './config';
import { Clock, ConnectionRecord, ConnectionStore, Logger, ShardDispatcher } from './ports';
import { joinPresence, leavePresence, parseMember, PRESENCE_STREAM_STATE, PresenceStore, presenceSessionKey } from './presence';
import { RpcPresence } from './rpc-protocol';

export interface AppPresenceDeps {
  readonly config: Pick<CableConfig, 'ttlSeconds'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Absent (or no `shards`): the app's presence is logged and dropped. */
  readonly presence?: PresenceStore;
  readonly shards?: ShardDispatcher;
  /** Marks the row at its first join (forget-connection.ts reads presence only for marked rows). */
  readonly connections: Pick<ConnectionStore, 'markPresence'>;
}

/**
 * The `presence` of an app channel's command reply (rpc.proto `CommandResponse.presence`, which
 * anycable-rb's `presence_join`/`presence_leave` fill), applied as anycable/anycable's node.go
 * `handleCommandReply` applies it, after the reply's channel state is merged, through
 * `handlePresenceReply`: the stream is the one the channel state names under `$p` (none: nothing
 * happens); `join` adds this session under `id` and announces it as a client's `join` is when the
 * id is new on the stream; `leave` removes the session's presence on the channel and announces it
 * when it was the id's last session. The reply's `id` is not read for a leave, as anycable-go's
 * `PresenceRemove(stream, sid)` does not.
 *
 * Nothing is answered to the client: anycable-go only logs what it cannot apply ("failed to
 * process presence"), and the command's own transmissions still go. Logged here: no `$p`, an
 * unknown type, a join refused by the bounds a client's join has (presence.ts `parseMember`), an
 * id other than the one this session holds on the channel, a store failure.
 */
export async function applyAppPresence(
  deps: AppPresenceDeps,
  record: ConnectionRecord,
  identifier: string,
  state: Readonly<Record<string, string>>,
  presence: RpcPresence,
): Promise<void> {
  const { connectionId } = record;
  const fields = { connectionId, identifier: identifier.slice(0, 100), type: presence.type.slice(0, 20) };
  const refused = (reason: string) => deps.logger.warn('command.presence_refused', { ...fields, reason });
  if (!deps.presence || !deps.shards) return refused('presence_unavailable');
  // `$p` is no Object.prototype key: a plain read cannot find an inherited one.
  const stream = state[PRESENCE_STREAM_STATE];
  if (!stream) return refused('no_presence_stream');
  const stores = { presence: deps.presence, shards: deps.shards };
  try {
    if (presence.type === 'leave') {
      await leavePresence(stores, presenceSessionKey(record), identifier, deps.clock.now());
      return;
    }
    if (presence.type !== 'join') return refused('unknown_presence_type');
    const member = parseMember({ id: presence.id, info: decodeInfo(presence.info) });
    if (typeof member === 'string') return refused(member);
    const joined = await joinPresence({ ...deps, ...stores }, record, stream, identifier, member);
    if (joined === 'id_mismatch') return refused('presence_id_mismatch');
    // Already after the reply's frames (app-channel.ts runs this as `afterSent`).
    await joined.announce?.();
  } catch (error) {
    deps.logger.error('command.presence_failed', { ...fields, error });
  }
}

/** protocol.go `ParseCommandResponse`: JSON text is decoded, other text passed on as a string, empty is none. */
function decodeInfo(info: string): unknown {
  if (info === '') return undefined;
  try {
    return JSON.parse(info);
  } catch {
    return info;
  }
}
