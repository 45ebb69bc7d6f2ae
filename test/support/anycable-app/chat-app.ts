import {
  loadServerlessJs,
  ServerlessApplication,
  ServerlessChannelHandle,
  ServerlessChannelParams,
  ServerlessConnectionHandle,
} from './serverless-js';

export interface ChatAppOptions {
  /**
   * Where `speak` broadcasts (AnyCable's `POST /_broadcast`), through the library's `broadcaster`.
   * @default - `speak` only acknowledges, it broadcasts nothing
   */
  readonly broadcastUrl?: string;
  /**
   * Sent by the broadcaster as `Authorization: Bearer <key>`.
   * @default - no Authorization header
   */
  readonly broadcastKey?: string;
}

export type ChatIdentifiers = { user: string };

/** The identifier a client sends to subscribe to a room. */
export function chatChannelIdentifier(room?: string | number): string {
  return JSON.stringify(room === undefined ? { channel: 'ChatChannel' } : { channel: 'ChatChannel', room });
}

/**
 * A chat app on the library's own `Application` and `Channel`, as its README builds one.
 *
 * Connect: the user comes from `?user=<name>`, else the `user=<name>` cookie; `reject` or none is
 * rejected, `boom` throws. The app records how it identified the user in `cstate.connected_via`.
 *
 * `ChatChannel` (`{"channel":"ChatChannel","room":"<id>"}`): no room or room `secret` is rejected,
 * else it streams from `room:<id>`. Actions: `speak` (`body`) broadcasts `{ user, body }` to the
 * room and transmits `{ ack: body }` to the sender; `leave` stops the room's stream; `whoami`
 * transmits `{ identifiers }`; `count` keeps a counter in the channel state (`handle.state`) and
 * transmits `{ count }`; `fail` throws.
 */
export function createChatApp(options: ChatAppOptions = {}): ServerlessApplication {
  const lib = loadServerlessJs();
  const broadcast = options.broadcastUrl ? lib.broadcaster(options.broadcastUrl, options.broadcastKey) : undefined;

  class ChatChannel extends lib.Channel {
    async subscribed(handle: ServerlessChannelHandle, params: ServerlessChannelParams | null): Promise<void> {
      const room = roomOf(params);
      if (room === undefined || room === 'secret') {
        handle.reject();
        return;
      }
      handle.streamFrom(`room:${room}`);
    }

    async speak(handle: ServerlessChannelHandle, params: ServerlessChannelParams | null, data: { body?: unknown }): Promise<void> {
      const user = (handle.identifiers as ChatIdentifiers | null)?.user;
      if (broadcast) await broadcast(`room:${roomOf(params)}`, { user, body: data.body });
      handle.transmit({ ack: data.body });
    }

    async leave(handle: ServerlessChannelHandle, params: ServerlessChannelParams | null): Promise<void> {
      handle.stopStreamFrom(`room:${roomOf(params)}`);
    }

    async whoami(handle: ServerlessChannelHandle): Promise<void> {
      handle.transmit({ identifiers: handle.identifiers });
    }

    async count(handle: ServerlessChannelHandle): Promise<void> {
      const count = (typeof handle.state?.count === 'number' ? handle.state.count : 0) + 1;
      handle.state = { ...(handle.state ?? {}), count };
      handle.transmit({ count });
    }

    async fail(): Promise<void> {
      throw new Error('ChatChannel#fail: the action failed');
    }
  }

  class ChatApplication extends lib.Application {
    async connect(handle: ServerlessConnectionHandle): Promise<void> {
      const fromQuery = new URL(handle.env.url).searchParams.get('user');
      const fromCookie = cookieValue(handle.env.headers?.cookie, 'user');
      const user = fromQuery ?? fromCookie;
      if (user === 'boom') throw new Error('ChatApplication#connect: boom');
      if (!user || user === 'reject') {
        handle.reject();
        return;
      }
      handle.identifiedBy({ user });
      handle.env.cstate = { ...(handle.env.cstate ?? {}), connected_via: fromQuery !== null ? 'query' : 'cookie' };
    }
  }

  const app = new ChatApplication();
  app.registerChannel('ChatChannel', new ChatChannel());
  return app;
}

function roomOf(params: ServerlessChannelParams | null): string | undefined {
  const room = params?.room;
  return room === undefined || room === '' ? undefined : String(room);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const [key, ...value] = pair.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}
