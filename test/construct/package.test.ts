import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { CABLE_FUNCTIONS } from '../../src/contract/functions';

const ROOT = path.join(__dirname, '..', '..');

/** The file list `npm pack` would publish (needs `projen bundle` and `projen compile`, which `projen test` runs first). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out)[0].files as Array<{ path: string }>).map((f) => f.path).sort();
}

describe('npm package', () => {
  const files = packedFiles();

  test('package: ships the compiled library and the jsii manifest', () => {
    expect(files).toEqual(expect.arrayContaining(['lib/index.js', 'lib/index.d.ts', 'lib/cable-websocket-api.js', '.jsii', 'README.md', 'API.md', 'LICENSE', 'package.json']));
  });

  test.each([...CABLE_FUNCTIONS])('package: ships the bundled %s handler with its chunks', (name) => {
    expect(files).toContain(`assets/lambda/aws/${name}-function/index.mjs`);
    expect(files.some((f) => f.startsWith(`assets/lambda/aws/${name}-function/chunks/`) && f.endsWith('.mjs'))).toBe(true);
  });

  test('package: ships no source map (40 % of the packed size; `sourceMaps` needs a build from the repository)', () => {
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  test('package: ships the local server CLI named in "bin"', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bin = require(path.join(ROOT, 'package.json')).bin['cdk-cable'];
    expect(files).toContain(bin);
  });

  test('package: ships the in-stack broadcast helper (cdk-cable/runtime/broadcast) with its types', () => {
    expect(files).toEqual(expect.arrayContaining(['runtime/broadcast.js', 'runtime/broadcast.d.ts']));
  });

  test('package: leaves sources, tests and tooling out', () => {
    const leaked = files.filter((f) => /^(src|lambda|test|examples|bench|docs|\.ci|\.projen)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(leaked).toEqual([]);
  });

  test('package: has no runtime dependencies (everything the handlers and CLI need is bundled)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const manifest = require(path.join(ROOT, 'package.json'));
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  });
});
