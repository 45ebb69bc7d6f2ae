import { rmSync } from 'node:fs';
import { RUN_TMPDIR_VARIABLE } from './jest.global-setup';

/** Jest's globalTeardown: removes the run's temporary directory (jest.global-setup.ts). */
export default function globalTeardown(): void {
  const runTmpdir = process.env[RUN_TMPDIR_VARIABLE];
  if (runTmpdir) rmSync(runTmpdir, { recursive: true, force: true });
}
