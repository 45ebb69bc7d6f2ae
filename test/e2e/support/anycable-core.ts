import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as AnyCable from '@anycable/core' with { 'resolution-mode': 'import' };
import { buildSync } from 'esbuild';

let loaded: typeof AnyCable | undefined;

/**
 * The stock `@anycable/core` client. It ships as ES modules only, which Jest's CommonJS runtime
 * cannot load; esbuild re-packs it, unchanged, into one CommonJS file.
 */
export function loadAnyCable(): typeof AnyCable {
  if (loaded) return loaded;
  const outfile = join(mkdtempSync(join(tmpdir(), 'cdk-cable-anycable-')), 'anycable-core.js');
  buildSync({
    entryPoints: [require.resolve('@anycable/core')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded = require(outfile) as typeof AnyCable;
  return loaded;
}
