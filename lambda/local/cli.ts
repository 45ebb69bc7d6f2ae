import { processIo, runCli } from './cli-main';

/**
 * `cdk-cable` (bundled to assets/lambda/local/cli/cdk-cable.mjs). Everything lives in cli-main.ts,
 * which tests import without starting anything.
 */
runCli(process.argv.slice(2), process.env, processIo()).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; if a stray handle would keep the process alive, do not wait on it.
    setTimeout(() => process.exit(code), 1_000).unref();
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
