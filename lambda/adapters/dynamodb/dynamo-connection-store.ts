import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTED_AT, NO_RESTORE, PING_INTERVAL, PRESENCE_JOINED, toRecord, UNINDEXED_IDENTIFIERS } from './connection-item';
import { decodeCursor, encodeCursor } from './cursor';
import { CONNECTIONS } from './schema';
import { ChannelRecord, ConnectionRecord, ConnectionStateUpdate, ConnectionStore, PingCandidate, PingCandidatePage } from '../../core/ports';

/** DynamoDB's limit on a partition key value (of the `byIdentifiers` index here). */
const MAX_KEY_BYTES = 2048;
/** The connection's built-in channel subscriptions, counted against `limits.maxSubscriptionsPerConnection`. */
const SUBSCRIPTION_COUNT = 'subscriptionCount';
/** Frames that were not commands, counted against `limits.maxInvalidFrames`. */
const INVALID_FRAMES = 'invalidFrames';

export interface DynamoConnectionStoreOptions {
  /**
   * Connections per `listForPing` page.
   * @default - as many as fit in DynamoDB's 1 MB page (about 15,000)
   */
  readonly pingPageSize?: number;
}

/**
 * Connections table, one item per connection keyed by `connectionId`; headers and query are
 * stored as maps so they stay readable in the console and queryable by attribute path. The
 * pinger reads the slim `pings` index, a remote disconnect the sparse `byIdentifiers` index.
 */
export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoConnectionStoreOptions = {},
  ) {}

  async put(record: ConnectionRecord): Promise<void> {
    const item: Record<string, unknown> = {
      [CONNECTIONS.partitionKey]: record.connectionId,
      [CONNECTED_AT]: record.connectedAt,
      [CONNECTIONS.ttl]: record.expiresAt,
      subprotocol: record.subprotocol,
      headers: { ...record.headers },
      query: { ...record.query },
      // Always present: updateState writes into these maps key by key, which needs them to exist.
      cstate: { ...record.cstate },
      channels: Object.fromEntries(Object.entries(record.channels ?? {}).map(([id, channel]) => [id, plainChannel(channel)])),
    };
    // Omitted rather than relying on the client's removeUndefinedValues, which callers may not set.
    if (record.url !== undefined) item.url = record.url;
    if (record.sid !== undefined) item.sid = record.sid;
    if (record.pingIntervalSeconds !== undefined) item[PING_INTERVAL] = record.pingIntervalSeconds;
    if (record.remoteAddress !== undefined) item.remoteAddress = record.remoteAddress;
    if (record.identifiers !== undefined) {
      // As an index key DynamoDB would refuse the whole item; such a connection still works, but
      // a remote disconnect cannot find it.
      const indexable = record.identifiers !== '' && Buffer.byteLength(record.identifiers) <= MAX_KEY_BYTES;
      item[indexable ? CONNECTIONS.byIdentifiersPartitionKey : UNINDEXED_IDENTIFIERS] = record.identifiers;
    }
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    // Consistent: a message may arrive right after `$connect` wrote the row.
    const { Item: item } = await this.doc.send(new GetCommand({
      TableName: this.tableName,
      Key: { [CONNECTIONS.partitionKey]: connectionId },
      ConsistentRead: true,
    }));
    return item ? toRecord(item) : undefined;
  }

  /**
   * One UpdateItem: `cstate` key by key (so two commands changing different keys both land), a
   * channel's record as a whole under its identifier, on the condition that the row (and, when
   * asked, the channel) still exists.
   */
  async updateState(connectionId: string, update: ConnectionStateUpdate): Promise<'updated' | 'connection_gone' | 'channel_gone'> {
    const names: Record<string, string> = { '#pk': CONNECTIONS.partitionKey };
    const values: Record<string, unknown> = {};
    const set: string[] = [];
    const remove: string[] = [];
    Object.entries(update.cstate ?? {}).forEach(([key, value], index) => {
      names['#cstate'] = 'cstate';
      names[`#k${index}`] = key;
      if (value === '') {
        remove.push(`#cstate.#k${index}`);
      } else {
        values[`:v${index}`] = value;
        set.push(`#cstate.#k${index} = :v${index}`);
      }
    });
    const { channel } = update;
    if (channel) {
      names['#channels'] = 'channels';
      names['#id'] = channel.identifier;
      if (channel.record) {
        values[':channel'] = plainChannel(channel.record);
        set.push('#channels.#id = :channel');
      } else {
        remove.push('#channels.#id');
      }
    }
    const condition = channel?.onlyIfSubscribed ? 'attribute_exists(#pk) AND attribute_exists(#channels.#id)' : 'attribute_exists(#pk)';
    const expression = [set.length > 0 ? `SET ${set.join(', ')}` : '', remove.length > 0 ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' ');
    if (expression === '') return (await this.get(connectionId)) ? 'updated' : 'connection_gone';
    const command = new UpdateCommand({
      TableName: this.tableName,
      Key: { [CONNECTIONS.partitionKey]: connectionId },
      UpdateExpression: expression,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
    });
    try {
      try {
        await this.doc.send(command);
      } catch (error) {
        if (!isMissingMap(error)) throw error;
        // A row written before rows carried these maps (a connection opened before an upgrade).
        await this.addStateMaps(connectionId);
        await this.doc.send(command);
      }
      return 'updated';
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return (await this.get(connectionId)) ? 'channel_gone' : 'connection_gone';
    }
  }

  private async addStateMaps(connectionId: string): Promise<void> {
    await this.doc.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { [CONNECTIONS.partitionKey]: connectionId },
      UpdateExpression: 'SET #cstate = if_not_exists(#cstate, :empty), #channels = if_not_exists(#channels, :empty)',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#pk': CONNECTIONS.partitionKey, '#cstate': 'cstate', '#channels': 'channels' },
      ExpressionAttributeValues: { ':empty': {} },
    }));
  }

  /**
   * One conditional UpdateItem (`ADD`): atomic, so concurrent subscribes cannot pass the cap
   * together. Billed by the row's size, like every write to it; a refused one is billed too.
   */
  async reserveSubscription(connectionId: string, max: number): Promise<boolean> {
    return this.conditionalAdd(connectionId, SUBSCRIPTION_COUNT, 1, 'attribute_exists(#pk) AND (attribute_not_exists(#n) OR #n < :max)', { ':max': max });
  }

  async releaseSubscription(connectionId: string): Promise<void> {
    await this.conditionalAdd(connectionId, SUBSCRIPTION_COUNT, -1, '#n > :zero', { ':zero': 0 });
  }

  async forbidRestore(connectionId: string): Promise<void> {
    await this.setFlag(connectionId, NO_RESTORE);
  }

  async markPresence(connectionId: string): Promise<void> {
    await this.setFlag(connectionId, PRESENCE_JOINED);
  }

  /** One UpdateItem setting `attribute` to true on the row, if the row is there. */
  private async setFlag(connectionId: string, attribute: string): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { [CONNECTIONS.partitionKey]: connectionId },
        UpdateExpression: 'SET #flag = :yes',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CONNECTIONS.partitionKey, '#flag': attribute },
        ExpressionAttributeValues: { ':yes': true },
      }));
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  async countInvalidFrame(connectionId: string): Promise<number | undefined> {
    try {
      const { Attributes: attributes } = await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { [CONNECTIONS.partitionKey]: connectionId },
        UpdateExpression: 'ADD #n :one',
        // Never a row of its own for a connection that has none (it would carry no TTL).
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CONNECTIONS.partitionKey, '#n': INVALID_FRAMES },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }));
      return attributes?.[INVALID_FRAMES] as number;
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  /** `ADD #n :delta` if `condition` holds; false when it does not. */
  private async conditionalAdd(
    connectionId: string, attribute: string, delta: number, condition: string, values: Record<string, number>,
  ): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { [CONNECTIONS.partitionKey]: connectionId },
        UpdateExpression: 'ADD #n :delta',
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#n': attribute, ...(condition.includes('#pk') ? { '#pk': CONNECTIONS.partitionKey } : {}) },
        ExpressionAttributeValues: { ':delta': delta, ...values },
      }));
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** ALL_OLD: the deleted row comes back, and only to the one caller that deleted it. */
  async delete(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Attributes: item } = await this.doc.send(new DeleteCommand({
      TableName: this.tableName,
      Key: { [CONNECTIONS.partitionKey]: connectionId },
      ReturnValues: 'ALL_OLD',
    }));
    return item ? toRecord(item) : undefined;
  }

  /**
   * A parallel Scan of the `pings` index: eventually consistent (half the read cost), so a
   * connection made a moment ago may first show up in the next round, which is soon enough for
   * its first ping. A page stops at DynamoDB's 1 MB (about 15,000 connections).
   */
  async listForPing(segment: number, totalSegments: number, cursor?: string): Promise<PingCandidatePage> {
    if (!Number.isInteger(totalSegments) || totalSegments < 1 || !Number.isInteger(segment) || segment < 0 || segment >= totalSegments) {
      throw new Error(`listForPing: segment must be an integer from 0 to totalSegments - 1, got ${segment} of ${totalSegments}`);
    }
    const result = await this.doc.send(new ScanCommand({
      TableName: this.tableName,
      IndexName: CONNECTIONS.pingsIndex,
      Segment: segment,
      TotalSegments: totalSegments,
      ExclusiveStartKey: cursor === undefined ? undefined : startKey(cursor),
      Limit: this.options.pingPageSize,
    }));
    return {
      items: (result.Items ?? []).map((item): PingCandidate => ({
        connectionId: item[CONNECTIONS.partitionKey],
        connectedAt: item[CONNECTED_AT],
        ...(item[PING_INTERVAL] !== undefined ? { pingIntervalSeconds: item[PING_INTERVAL] } : {}),
      })),
      cursor: result.LastEvaluatedKey ? encodeCursor(result.LastEvaluatedKey) : undefined,
    };
  }

  async findByIdentifiers(identifiers: string): Promise<string[]> {
    if (identifiers === '' || Buffer.byteLength(identifiers) > MAX_KEY_BYTES) return []; // no row can hold such a key
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        IndexName: CONNECTIONS.byIdentifiersIndex,
        KeyConditionExpression: '#identifiers = :identifiers',
        ExpressionAttributeNames: { '#identifiers': CONNECTIONS.byIdentifiersPartitionKey },
        ExpressionAttributeValues: { ':identifiers': identifiers },
        ExclusiveStartKey: start,
      }));
      for (const item of page.Items ?? []) ids.push(item[CONNECTIONS.partitionKey]);
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }
}

/** By name too: an instanceof check fails when the bundle holds two copies of the SDK. */
function isConditionFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** DynamoDB's answer to a path into a map the row does not have. */
function isMissingMap(error: unknown): boolean {
  return (error as Error).name === 'ValidationException' && /document path provided in the update expression is invalid/i.test((error as Error).message);
}

function plainChannel(channel: ChannelRecord): Record<string, unknown> {
  return { state: { ...channel.state }, streams: [...channel.streams] };
}

/** The key of a `listForPing` page cursor. */
function startKey(cursor: string): Record<string, string> {
  const record = decodeCursor(cursor);
  if (record === undefined || typeof record[CONNECTIONS.partitionKey] !== 'string') {
    throw new Error('cursor is not one returned by listForPing');
  }
  return { [CONNECTIONS.partitionKey]: record[CONNECTIONS.partitionKey] as string };
}
