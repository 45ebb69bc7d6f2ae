/**
 * The cable's Lambda functions. Each is bundled by esbuild from `lambda/aws/<name>-function.ts`
 * into `assets/lambda/aws/<name>-function/index.mjs` (.projenrc.ts), which the construct ships
 * as the function's code and the local server's `--lambda_assets` mode imports.
 */
export const CABLE_FUNCTIONS = ['connect', 'message', 'disconnect', 'deliver', 'broadcast', 'fanout', 'ping'] as const;

export type CableFunctionName = typeof CABLE_FUNCTIONS[number];

/** The entry point of a function, relative to the project root. */
export function functionEntryPoint(name: CableFunctionName): string {
  return `lambda/aws/${name}-function.ts`;
}

/** The folder of a function's bundle, relative to `assets/`. */
export function functionAssetDir(name: CableFunctionName): string {
  return `lambda/aws/${name}-function`;
}

/** The bundle's file in that folder, and the handler Lambda calls. */
export const FUNCTION_BUNDLE_FILE = 'index.mjs';
export const FUNCTION_HANDLER = 'index.handler';
