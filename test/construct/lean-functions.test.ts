import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { synth } from './support';
import { CABLE_FUNCTIONS, CableFunctionName, FUNCTION_BUNDLE_FILE, FUNCTION_CHUNKS_DIR } from '../../src/contract/functions';
import { handlerAssetPath, validateSourceMaps } from '../../src/private/functions';

/** The files of each function's code as synthesized (the staged asset folders in the cloud assembly). */
function stagedCode(props: Parameters<typeof synth>[0]): string[][] {
  const { stack, template } = synth(props);
  const assembly = (stack.node.root as App).synth();
  return Object.values(template.findResources('AWS::Lambda::Function'))
    .filter((fn) => fn.Properties.Handler === 'index.handler')
    .map((fn) => {
      const dir = path.join(assembly.directory, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
      return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
    });
}

/** The bundle's entry and every chunk it imports statically: what a cold start loads. */
function loadedAtColdStart(name: CableFunctionName): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of fs.readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*"(\.{1,2}\/[^"]+)"/g)) {
      visit(path.resolve(path.dirname(file), match[1]));
    }
  };
  visit(path.join(handlerAssetPath(name), FUNCTION_BUNDLE_FILE));
  return [...seen];
}

// The RpcClient class of lambda/core/rpc-client.ts, by the name esbuild's --keep-names leaves in the bundle.
const RPC_CLIENT_MARKER = '"RpcClient"';

describe('lean functions', () => {
  test('sourceMaps: off by default, no NODE_OPTIONS (no --enable-source-maps) on any function', () => {
    const { template } = synth();
    const functions = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }));
    expect(functions).toHaveLength(CABLE_FUNCTIONS.length);
    for (const fn of functions) expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
  });

  test('sourceMaps: true turns on --enable-source-maps for every function', () => {
    const { template } = synth({ sourceMaps: true });
    template.resourcePropertiesCountIs('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
    }, CABLE_FUNCTIONS.length);
  });

  test('sourceMaps: the functions\' code leaves the maps out by default, and carries them with sourceMaps: true', () => {
    const without = stagedCode({});
    const withMaps = stagedCode({ sourceMaps: true });
    for (const files of without) {
      expect(files).toContain(FUNCTION_BUNDLE_FILE);
      expect(files.some((f) => f.startsWith(`${FUNCTION_CHUNKS_DIR}/`))).toBe(true);
      expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    }
    for (const files of withMaps) expect(files).toEqual(expect.arrayContaining([`${FUNCTION_BUNDLE_FILE}.map`]));
  });

  test('sourceMaps: true without the maps (the npm package leaves them out) fails at synth, naming the functions and the way out', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cable-maps-'));
    try {
      // A copy of cdk-cable as npm installs it: every bundle, no map beside deliver's.
      const assetPath = (name: CableFunctionName) => (name === 'deliver' ? dir : handlerAssetPath(name));
      expect(() => validateSourceMaps(true, assetPath)).toThrow(/^`sourceMaps` is true, but this copy of cdk-cable has no source maps \(deliver-function\): .*npx projen bundle/);
      expect(validateSourceMaps(false, () => dir)).toBe(false);
      expect(validateSourceMaps(true)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([...CABLE_FUNCTIONS])('assets: the %s function does not load the RPC client at its cold start', (name) => {
    const loaded = loadedAtColdStart(name);
    expect(loaded.filter((file) => fs.readFileSync(file, 'utf8').includes(RPC_CLIENT_MARKER))).toEqual([]);
  });

  test.each(CABLE_FUNCTIONS.filter((name) => name !== 'deliver'))('assets: the %s function carries the RPC client in a chunk it imports when `rpc` is set', (name) => {
    const chunks = path.join(handlerAssetPath(name), FUNCTION_CHUNKS_DIR);
    const withClient = fs.readdirSync(chunks).filter((f) => f.endsWith('.mjs') && fs.readFileSync(path.join(chunks, f), 'utf8').includes(RPC_CLIENT_MARKER));
    expect(withClient).toEqual([expect.stringMatching(/^rpc-runtime-/)]);
  });
});
