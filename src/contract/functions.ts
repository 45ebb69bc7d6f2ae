/**
 * The cable's Lambda functions. Each is bundled by esbuild from `lambda/aws/<name>-function.ts`
 * into `assets/lambda/aws/<name>-function/index.mjs` (.projenrc.ts), which the construct ships
 * as the function's code and the local server's `--lambda_assets` mode imports.
 */
export const CABLE_FUNCTIONS = ['connect', 'message', 'disconnect', 'deliver', 'broadcast', 'fanout', 'ping'] as const;

export type CableFunctionName = typeof CABLE_FUNCTIONS[number];

/** Where the entry points are, relative to the project root; their bundles are at the same path under `assets/`. */
export const FUNCTIONS_DIR = 'lambda/aws';

/** The entry point's base name, and the name of its bundle's folder. */
export function functionBundleName(name: CableFunctionName): string {
  return `${name}-function`;
}

/** The bundle's file in its folder, and the handler Lambda calls. */
export const FUNCTION_BUNDLE_FILE = 'index.mjs';
export const FUNCTION_HANDLER = 'index.handler';
