import { RawData, WebSocket } from 'ws';
import { percentile } from './settings';

/** One socket a client opened: when it opened, got `welcome`, and was cut (first of a `disconnect` frame or its close). */
export interface SocketRecord {
  readonly startedAt: number;
  /** The session id the client asked to restore (`?sid=`), if any. */
  readonly sid?: string;
  openedAt?: number;
  welcomeAt?: number;
  restored?: boolean;
  cutAt?: number;
  cutBy?: 'disconnect frame' | 'close';
}

/** What one client saw, on the wire (sockets) and as its app sees it (messages, in delivery order). */
export class ClientTimeline {
  readonly sockets: SocketRecord[] = [];
  readonly messages: Array<{ n: number; at: number }> = [];

  /** Records `ws`'s life; its listeners run before the client's own (added later), so the times come first. */
  attach(ws: WebSocket): void {
    const record: SocketRecord = { startedAt: Date.now(), sid: new URL(ws.url).searchParams.get('sid') || undefined };
    this.sockets.push(record);
    const cut = (by: SocketRecord['cutBy']) => {
      if (record.openedAt !== undefined && record.cutAt === undefined) {
        record.cutAt = Date.now();
        record.cutBy = by;
      }
    };
    ws.on('open', () => (record.openedAt = Date.now()));
    ws.on('close', () => cut('close'));
    ws.on('message', (data: RawData) => {
      const frame = decode(String(data));
      if (frame?.type === 'welcome') {
        record.welcomeAt = Date.now();
        record.restored = frame.restored === true;
      } else if (frame?.type === 'disconnect') {
        cut('disconnect frame');
      }
    });
  }

  /** A `ws` class whose every socket this timeline records (`websocketImplementation`). */
  webSocketClass() {
    const timeline = this;
    return class RecordingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        timeline.attach(this);
      }
    };
  }

  receive(message: unknown): void {
    const n = (message as { n?: unknown } | undefined)?.n;
    if (typeof n === 'number') this.messages.push({ n, at: Date.now() });
  }

  has(n: number): boolean {
    return this.messages.some((message) => message.n === n);
  }
}

/** Milliseconds, p50 and max, or nulls when nothing was measured. */
export interface Spread {
  p50: number | null;
  max: number | null;
}

export interface RecoveryStats {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Sockets cut while the run was on, and how they learnt (a `disconnect` frame, or only the close). */
  cuts: number;
  cutsByFrame: number;
  /** Cuts followed by a message on a later socket before the run ended. */
  recovered: number;
  /** Reconnects that asked to restore a session (`?sid=`), and welcomes with `restored: true`. */
  restoreAsked: number;
  restored: number;
  /** Cut → first message delivered after a new socket opened. */
  recoveryMs: Spread;
  /** Connection age at the cut (open → cut). */
  ageAtCutMs: Spread;
  /** Cut → the client dials the socket that opens: its reconnect wait (backoff or monitor), failed attempts included. */
  cutToDialMs: Spread;
  /** Dial → open: the upgrade and the server's `$connect` (with restore, and `welcome`, which the local server sends in it). */
  dialToOpenMs: Spread;
  /** Reconnect (welcome) → first message: resubscribe or restore, history replay, or the next live broadcast. */
  reconnectToMessageMs: Spread;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? { p50: null, max: null } : { p50: Math.round(percentile(sorted, 50)), max: Math.round(sorted[sorted.length - 1]) };
}

/** Counts and times for one client, given the broadcasts sent (0 … sent-1) and when the run stopped cutting. */
export function recoveryStats(timeline: ClientTimeline, sent: number, stoppedAt: number): RecoveryStats {
  const seen = new Set<number>();
  let duplicated = 0;
  let outOfOrder = 0;
  let highest = -1;
  for (const { n } of timeline.messages) {
    if (seen.has(n)) duplicated++;
    else if (n < highest) outOfOrder++;
    seen.add(n);
    highest = Math.max(highest, n);
  }
  const times = { recovery: [] as number[], age: [] as number[], toDial: [] as number[], toOpen: [] as number[], reconnect: [] as number[] };
  const cuts = timeline.sockets.filter((s) => s.cutAt !== undefined && s.cutAt < stoppedAt);
  let recovered = 0;
  for (const socket of cuts) {
    const cutAt = socket.cutAt!;
    times.age.push(cutAt - socket.openedAt!);
    // The next socket that opened after this cut (attempts that never opened are part of the wait).
    const next = timeline.sockets.find((s) => s.openedAt !== undefined && s.openedAt > cutAt);
    if (!next) continue;
    const first = timeline.messages.find((m) => m.at >= next.openedAt!);
    if (!first) continue;
    recovered++;
    times.recovery.push(first.at - cutAt);
    times.toDial.push(next.startedAt - cutAt);
    times.toOpen.push(next.openedAt! - next.startedAt);
    if (next.welcomeAt !== undefined) times.reconnect.push(first.at - next.welcomeAt);
  }
  let lost = 0;
  for (let n = 0; n < sent; n++) if (!seen.has(n)) lost++;
  return {
    sent,
    received: timeline.messages.length,
    lost,
    duplicated,
    outOfOrder,
    cuts: cuts.length,
    cutsByFrame: cuts.filter((s) => s.cutBy === 'disconnect frame').length,
    recovered,
    restoreAsked: timeline.sockets.filter((s) => s.sid !== undefined).length,
    restored: timeline.sockets.filter((s) => s.restored).length,
    recoveryMs: spread(times.recovery),
    ageAtCutMs: spread(times.age),
    cutToDialMs: spread(times.toDial),
    dialToOpenMs: spread(times.toOpen),
    reconnectToMessageMs: spread(times.reconnect),
  };
}

function decode(frame: string): { type?: string; restored?: unknown } | undefined {
  try {
    return JSON.parse(frame) as { type?: string; restored?: unknown };
  } catch {
    return undefined;
  }
}
