import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SUBSCRIPTIONS } from './schema';
import { PINGER_STATE } from '../../../src/contract/table-schema';
import { PingerLease, PingerPhase, PingerStateStore, PingPeriodClaim, STALE_LEASE_MS } from '../../core/ping-coordination';

const STATE_KEY = { [SUBSCRIPTIONS.partitionKey]: PINGER_STATE.stream, [SUBSCRIPTIONS.sortKey]: PINGER_STATE.stateKey };
/** The state item's attribute names, with `#` for expressions. */
const NAMES = { '#period': 'period', '#phase': 'phase', '#holder': 'holder', '#leasedAt': 'leasedAt', '#connections': 'connections', '#workers': 'workers', '#arrived': 'arrived', '#ttl': SUBSCRIPTIONS.ttl };
/** The lease is free for a new period: none yet, an earlier period, or this one gone idle. */
const FREE = 'attribute_not_exists(#period) OR #period < :period OR (#period = :period AND #phase = :idle)';
/** The state item lives a day without a pinger refreshing it. */
const STATE_TTL_SECONDS = 24 * 60 * 60;

/**
 * The pinger's lease and claims (core/ping-coordination.ts) in the subscriptions table, under the
 * reserved stream `PINGER_STATE.stream` (table-schema.ts): out of the connections table, whose
 * every item the pinger's Scan reads. Every write is conditional, so concurrent invocations and
 * `$connect`s agree on one winner.
 */
export class DynamoPingerState implements PingerStateStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async claimPeriod(period: number, now: number, lease?: string): Promise<PingPeriodClaim> {
    const condition = lease === undefined
      ? `${FREE} OR (#period = :period AND #phase = :leased AND #leasedAt < :stale)`
      : '#period = :period AND #phase = :leased AND #holder = :token';
    return this.conditionally<PingPeriodClaim>(async () => {
      // The previous period's count and arrival mark go (ALL_OLD still returns them): unset
      // `connections` says this period's first round is reading (ping-lease.ts).
      const old = await this.update('SET #period = :period, #phase = :running, #ttl = :ttl REMOVE #connections, #arrived', condition, {
        ':period': period,
        ':running': 'running',
        ':leased': 'leased',
        ':idle': 'idle',
        ':token': lease,
        ':stale': now - STALE_LEASE_MS,
        ':ttl': ttl(now, STATE_TTL_SECONDS),
      });
      return { claimed: true, previous: old ? toLease(old) : undefined };
    }, { claimed: false });
  }

  async claimWorker(period: number, worker: number, now: number): Promise<boolean> {
    return this.conditionally(async () => {
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: {
          ...STATE_KEY,
          [SUBSCRIPTIONS.sortKey]: `${PINGER_STATE.workerKeyPrefix}${period}#${worker}`,
          [SUBSCRIPTIONS.ttl]: ttl(now, PINGER_STATE.claimTtlSeconds),
        },
        ConditionExpression: 'attribute_not_exists(#sk)',
        ExpressionAttributeNames: { '#sk': SUBSCRIPTIONS.sortKey },
      }));
      return true;
    }, false);
  }

  async record(period: number, connections: number, workers: number): Promise<void> {
    await this.conditionally(() => this.update('SET #connections = :connections, #workers = :workers', '#period = :period', {
      ':connections': connections, ':workers': workers, ':period': period,
    }), undefined);
  }

  async release(period: number): Promise<boolean> {
    return this.conditionally(async () => {
      await this.update('SET #phase = :idle, #connections = :zero, #workers = :one', '#period = :period AND #phase = :running AND attribute_not_exists(#arrived)', {
        ':idle': 'idle', ':zero': 0, ':one': 1, ':period': period, ':running': 'running',
      });
      return true;
    }, false);
  }

  async markArrival(period: number): Promise<boolean> {
    return this.conditionally(async () => {
      await this.update('SET #arrived = :true', '#period = :period AND #phase = :running', { ':true': true, ':period': period, ':running': 'running' });
      return true;
    }, false);
  }

  async read(): Promise<PingerLease | undefined> {
    // Consistent: a lease released a moment ago must not look held.
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: STATE_KEY, ConsistentRead: true }));
    return item ? toLease(item) : undefined;
  }

  async takeLease(period: number, token: string, now: number): Promise<boolean> {
    return this.conditionally(async () => {
      await this.update('SET #period = :period, #phase = :leased, #holder = :token, #leasedAt = :now, #ttl = :ttl', FREE, {
        ':period': period, ':leased': 'leased', ':token': token, ':now': now, ':idle': 'idle', ':ttl': ttl(now, STATE_TTL_SECONDS),
      });
      return true;
    }, false);
  }

  /** One conditional UpdateItem of the state item; returns the item as it was. Names and values the expressions do not use are left out (DynamoDB refuses them). */
  private async update(update: string, condition: string, values: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const used = `${update} ${condition}`;
    const { Attributes: old } = await this.doc.send(new UpdateCommand({
      TableName: this.tableName,
      Key: STATE_KEY,
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: Object.fromEntries(Object.entries(NAMES).filter(([name]) => used.includes(name))),
      ExpressionAttributeValues: Object.fromEntries(Object.entries(values).filter(([name]) => new RegExp(`${name}\\b`).test(used))),
      ReturnValues: 'ALL_OLD',
    }));
    return old;
  }

  /** `write`'s result, or `lost` when its condition failed. */
  private async conditionally<T>(write: () => Promise<T>, lost: T): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') return lost;
      throw error;
    }
  }
}

function ttl(now: number, seconds: number): number {
  return Math.floor(now / 1000) + seconds;
}

function toLease(item: Record<string, any>): PingerLease | undefined {
  if (typeof item.period !== 'number') return undefined;
  return {
    period: item.period,
    phase: item.phase as PingerPhase,
    ...(typeof item.connections === 'number' ? { connections: item.connections } : {}),
    ...(typeof item.leasedAt === 'number' ? { leasedAt: item.leasedAt } : {}),
  };
}
