import { Token } from 'aws-cdk-lib';
import * as alarms from './alarms';
import * as api from './api';
import * as broadcast from './broadcast';
import * as cloudfront from './cloudfront';
import * as environment from './environment';
import * as functions from './functions';
import * as identification from './identification';
import * as origins from './origins';
import * as pinger from './pinger';
import * as secrets from './secrets';
import * as tables from './tables';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';

/** Every builder's settings: the props validated (at synth, before any resource exists) and their defaults resolved. */
export interface CableSettings {
  readonly api: api.ApiSettings;
  readonly tables: tables.TablesSettings;
  readonly functions: functions.FunctionsSettings;
  readonly origins: origins.AllowedOrigins;
  readonly cloudfront?: ReturnType<typeof cloudfront.settings>;
  readonly pinger: pinger.PingerSettings;
  readonly identification: identification.Identification;
  readonly delivery: broadcast.DeliverySettings;
  readonly streams: environment.StreamsSettings;
  readonly limits: environment.LimitsSettings;
  readonly history: environment.HistorySettings;
  readonly secrets: secrets.SecretsSettings;
  readonly alarms: alarms.AlarmsSettings;
}

export function resolveSettings(props: CableWebSocketApiProps): CableSettings {
  const resolved: CableSettings = {
    api: api.settings(props),
    tables: tables.settings(props),
    functions: functions.settings(props),
    origins: origins.settings(props),
    cloudfront: cloudfront.settings(props),
    pinger: pinger.settings(props),
    identification: identification.settings(props),
    delivery: broadcast.settings(props),
    streams: environment.settings(props),
    limits: environment.limitsSettings(props),
    history: environment.historySettings(props),
    secrets: secrets.settings(props),
    alarms: alarms.settings(props),
  };
  const ttl = resolved.tables.ttlSeconds;
  const age = resolved.pinger.maxConnectionAgeSeconds;
  if (!Token.isUnresolved(ttl) && !Token.isUnresolved(age) && ttl <= age) {
    throw new Error(`\`connectionTtl\` (${ttl} s) must be longer than \`maxConnectionAge\` (${age} s): DynamoDB would expire rows of open connections`);
  }
  return resolved;
}
