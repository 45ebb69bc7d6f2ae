// jest's own `expect` (a dependency of jest), for the scenarios outside jest.
// eslint-disable-next-line import/no-extraneous-dependencies
import { expect } from 'expect';
import { EnvironmentOverrides, startCableRun } from './cable-run';
import { CONFIGURATIONS, IamConfiguration } from './configurations';
import { Check, evaluate, exercised, Grant, grantsOf, unexercisedReason, withKeyCalls } from './evaluate';
import { RecordedCall } from './recording-proxy';
import { ORIGIN_SCENARIOS, playScenario, RESTART_SCENARIO, Scenario, SCENARIOS } from './scenarios';
import { SynthesizedCable, synthesize } from './template';
import { CABLE_FUNCTIONS } from '../../src/contract/functions';
import { freePort, installRecordingConsumer } from '../e2e/support/rpc-e2e';
import { startDynalite, TestDynamo } from '../support/dynalite';

/*
 * `npx projen iam:check`: proves on this machine what AWS IAM will enforce. For each
 * configuration it synthesizes the construct, runs the shipped bundles with the environment the
 * template gives each function (test/iam/cable-run.ts), plays the scenarios through stock
 * clients, records every AWS request each function makes (test/iam/recording-proxy.ts) and
 * evaluates it against that function's synthesized role; then reports each granted permission
 * no scenario used, unless src/contract/permissions.ts says why none can.
 *
 * The last line counts distinct (function, action, resource) checks, summed over configurations.
 */

// The scenarios assert with jest's `expect` (the e2e helpers they share do too).
Object.assign(globalThis, { expect });
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
/** `IAM_CHECK_ONLY=<part of a name>` runs the matching configurations alone (while working on one). */
const ONLY = process.env.IAM_CHECK_ONLY;

/** Timing the construct cannot set this low (CABLE_FANOUT_SHARD_SIZE ≥ 100, CABLE_MAX_CONNECTION_AGE ≥ 60 s): changed for the local run only. */
const SMALL_SHARDS: EnvironmentOverrides = { broadcast: { CABLE_FANOUT_SHARD_SIZE: '2' }, fanout: { CABLE_FANOUT_SHARD_SIZE: '2' } };
const SHORT_LIFE: EnvironmentOverrides = { ping: { CABLE_MAX_CONNECTION_AGE: '2' } };
/** One post per second per pinger invocation (about 700 at 256 MB): a few connections need workers. */
const SLOW_PINGERS: EnvironmentOverrides = { ping: { CABLE_PING_WORKER_RATE: '1' } };

interface ConfigurationResult {
  readonly configuration: IamConfiguration;
  readonly checks: Check[];
  readonly grants: Array<Grant & { readonly used: boolean; readonly reason?: string }>;
  readonly failures: string[];
}

async function checkConfiguration(configuration: IamConfiguration, dynamo: TestDynamo, restart: boolean): Promise<ConfigurationResult> {
  const cable: SynthesizedCable = synthesize(configuration.build);
  const calls: RecordedCall[] = [];
  const failures: string[] = [];
  const play = async (scenarios: readonly Scenario[], overrides: EnvironmentOverrides) => {
    const run = await startCableRun({ configuration, cable, dynamo, calls, overrides, port: await freePort() });
    try {
      for (const scenario of scenarios.filter((s) => s.applies?.(configuration) ?? true)) {
        const started = Date.now();
        try {
          await playScenario(scenario, { configuration, run, dynamo, calls });
          log(`  ok   ${scenario.name} (${Date.now() - started} ms)`);
        } catch (error) {
          failures.push(`${configuration.name}: ${scenario.name}: ${String((error as Error).message ?? error).split('\n').slice(0, 6).join(' ')}`);
          log(`  FAIL ${scenario.name}`);
        }
      }
    } finally {
      await run.stop();
    }
  };
  log(`${configuration.name}`);
  await play(configuration.originVerification ? ORIGIN_SCENARIOS : SCENARIOS, { ...SMALL_SHARDS, ...SLOW_PINGERS });
  if (restart) await play([RESTART_SCENARIO], SHORT_LIFE);

  const withKeys = withKeyCalls(calls, cable);
  const checks = await evaluate(withKeys, cable);
  const grants = grantsOf(cable).map((grant) => ({ ...grant, used: exercised(grant, withKeys), reason: unexercisedReason(grant, cable) }));
  return { configuration, checks, grants, failures };
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  const started = Date.now();
  const restoreConsumer = installRecordingConsumer();
  const dynamo = await startDynalite();
  const results: ConfigurationResult[] = [];
  try {
    for (const [index, configuration] of CONFIGURATIONS.entries()) {
      if (ONLY && !configuration.name.includes(ONLY)) continue;
      // The maximum-age run needs no configuration of its own: the pinger's calls do not change with them.
      results.push(await checkConfiguration(configuration, dynamo, index === 0));
    }
  } finally {
    await dynamo.close();
    restoreConsumer();
  }

  const denied = results.flatMap((r) => r.checks.filter((c) => !c.allowed).map((c) => ({ ...c, configuration: r.configuration.name })));
  // A grant is unused when no configuration that grants it exercised it.
  const grants = new Map<string, { grant: Grant; used: boolean; reason?: string; configurations: string[] }>();
  for (const result of results) {
    for (const grant of result.grants) {
      const key = `${grant.function} ${grant.action} ${grant.resource}`;
      const entry = grants.get(key) ?? { grant, used: false, reason: grant.reason, configurations: [] };
      entry.used ||= grant.used;
      entry.configurations.push(result.configuration.name);
      grants.set(key, entry);
    }
  }
  const unused = [...grants.values()].filter((g) => !g.used);
  const unexplained = unused.filter((g) => !g.reason);
  const failures = results.flatMap((r) => r.failures);

  log('');
  for (const d of denied) log(`DENIED  ${d.function}: ${d.action} on ${d.resource} (${d.result}; ${d.request}; ${d.configuration})`);
  for (const g of unused) {
    log(`${g.reason ? 'unused (explained)' : 'UNUSED '}  ${g.grant.function}: ${g.grant.action} on ${g.grant.resource}${g.reason ? ` — ${g.reason}` : ''}`);
  }
  for (const failure of failures) log(`SCENARIO FAILED  ${failure}`);
  const checks = results.reduce((sum, r) => sum + r.checks.length, 0);
  const functions = new Set(results.flatMap((r) => r.checks.map((c) => c.function))).size;
  log(`(${results.length} configurations, ${CABLE_FUNCTIONS.length} functions each; ${Math.round((Date.now() - started) / 1000)} s)`);
  log(`iam: ${checks} calls checked across ${functions} functions, ${denied.length} denied, ${unexplained.length} unused grants`);
  return denied.length > 0 || unexplained.length > 0 || failures.length > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  log('iam: the check could not run');
  process.exit(2);
});
