import { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableDefinitions } from '../../test/support/table-definitions';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite');

/** dynalite in this process on a loopback port, with the cable's two tables as the construct creates them. */
export interface CostDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly connectionsTable: string;
  readonly subscriptionsTable: string;
  close(): Promise<void>;
}

process.env.AWS_ACCESS_KEY_ID ??= 'bench';
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
process.env.AWS_REGION ??= 'us-east-1';

export async function startCostDynamo(): Promise<CostDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const connectionsTable = `cost-connections-${process.pid}`;
  const subscriptionsTable = `cost-subscriptions-${process.pid}`;
  for (const definition of tableDefinitions(connectionsTable, subscriptionsTable)) await client.send(new CreateTableCommand(definition));
  return {
    endpoint,
    client,
    connectionsTable,
    subscriptionsTable,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
