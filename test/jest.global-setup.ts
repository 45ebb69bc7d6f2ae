import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the run's temporary files go (globalTeardown removes it). */
export const RUN_TMPDIR_VARIABLE = 'CDK_CABLE_JEST_TMPDIR';

/**
 * Jest's globalSetup: runs once in the parent process before any worker starts, so what it puts
 * in process.env reaches every test file and every process the tests spawn (the local server CLI,
 * the bundled functions), which inherit it.
 */
export default function globalSetup(): void {
  // The AWS SDK for JavaScript warns, once per process, that it will require Node.js 22
  // (@aws-sdk/core's emitWarningIfUnsupportedVersion). The functions run on Node.js 22 in Lambda;
  // the tests run on whatever Node.js the machine has. This is the variable the SDK reads to
  // stay quiet; an explicit value in the caller's environment is kept.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Every `new App()` without an outdir synthesizes into a new os.tmpdir()/cdk.outXXXXXX that CDK
  // never removes: about 800 directories and 9 GB a full run, which filled this machine's disk.
  // One directory per run, as TMPDIR for the workers and what they spawn, removed at the end.
  const runTmpdir = mkdtempSync(join(tmpdir(), 'cdk-cable-jest-'));
  process.env[RUN_TMPDIR_VARIABLE] = runTmpdir;
  process.env.TMPDIR = runTmpdir;
}
