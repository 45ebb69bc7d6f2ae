/**
 * The cable's Lambda functions. Each is bundled by esbuild from `lambda/aws/<name>-function.ts`
 * into the folder `assets/lambda/aws/<name>-function/` (.projenrc.ts): `index.mjs`, the chunks it
 * imports under `chunks/`, and their source maps. The construct ships the folder as the function's
 * code (the maps only with `sourceMaps`) and the local server's `--lambda_assets` mode imports
 * `index.mjs` from it.
 */
export const CABLE_FUNCTIONS = ['connect', 'message', 'disconnect', 'deliver', 'broadcast', 'fanout', 'ping'] as const;

export type CableFunctionName = typeof CABLE_FUNCTIONS[number];

/** Where the entry points are, relative to the project root; their bundles are at the same path under `assets/`. */
export const FUNCTIONS_DIR = 'lambda/aws';

/** The entry point's base name, and the name of its bundle's folder. */
export function functionBundleName(name: CableFunctionName): string {
  return `${name}-function`;
}

/** The bundle's entry file in its folder, and the handler Lambda calls. */
export const FUNCTION_BUNDLE_FILE = 'index.mjs';
/** The folder, beside the entry file, of the chunks it imports (code splitting). */
export const FUNCTION_CHUNKS_DIR = 'chunks';
/** The source maps' files in a bundle's folder: shipped to Lambda only with `sourceMaps`. */
export const FUNCTION_SOURCE_MAP_GLOB = '**/*.map';
export const FUNCTION_HANDLER = 'index.handler';
