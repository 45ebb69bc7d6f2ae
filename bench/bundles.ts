/**
 * Bundle the AWS SDK v3 clients into each handler, or leave them to the Lambda runtime's copy?
 * Builds every handler both ways side by side in one run and measures bundle size and cold
 * module-load time in fresh Node processes, alternating the two variants so machine noise hits
 * both alike. The "runtime SDK" variant resolves the SDK from node_modules, as Lambda resolves
 * its preinstalled copy from disk. Writes bench/results/bundles.json.
 *
 * Run: npx projen bench:bundles
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..');
const HANDLERS = ['connect', 'message', 'disconnect', 'deliver', 'broadcast', 'fanout', 'ping'];
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const OUT = path.join(ROOT, 'bench', '.build');
const BANNER = "import{createRequire as __cableRequire}from'node:module';const require=__cableRequire(import.meta.url);";

type Variant = 'bundled' | 'runtime';

function build(handler: string, variant: Variant): string {
  const outfile = path.join(OUT, variant, handler, 'index.mjs');
  buildSync({
    entryPoints: [path.join(ROOT, 'lambda', 'handlers', `${handler}.ts`)],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: BANNER },
    outfile,
    external: variant === 'runtime' ? ['@aws-sdk/*', '@smithy/*'] : [],
    logLevel: 'silent',
  });
  return outfile;
}

/** Milliseconds to import the module (and with it the SDK) in a fresh process. */
function coldImportMs(file: string): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function main(): void {
  fs.rmSync(OUT, { recursive: true, force: true });
  const results = HANDLERS.map((handler) => {
    const files = { bundled: build(handler, 'bundled'), runtime: build(handler, 'runtime') };
    const times: Record<Variant, number[]> = { bundled: [], runtime: [] };
    coldImportMs(files.bundled); // warm the disk cache for both
    coldImportMs(files.runtime);
    for (let i = 0; i < RUNS; i++) {
      const order: Variant[] = i % 2 === 0 ? ['bundled', 'runtime'] : ['runtime', 'bundled'];
      for (const variant of order) times[variant].push(coldImportMs(files[variant]));
    }
    const row = {
      handler,
      bundledBytes: fs.statSync(files.bundled).size,
      runtimeSdkBytes: fs.statSync(files.runtime).size,
      bundledImportMsMedian: Number(median(times.bundled).toFixed(1)),
      runtimeSdkImportMsMedian: Number(median(times.runtime).toFixed(1)),
      importTimeRatioRuntimeOverBundled: Number((median(times.runtime) / median(times.bundled)).toFixed(2)),
    };
    console.log(`${handler.padEnd(10)} bundled ${(row.bundledBytes / 1024).toFixed(0)} KB ${row.bundledImportMsMedian} ms | runtime SDK ${(row.runtimeSdkBytes / 1024).toFixed(1)} KB ${row.runtimeSdkImportMsMedian} ms | runtime/bundled import time ${row.importTimeRatioRuntimeOverBundled}x`);
    return row;
  });
  const report = { node: process.version, runs: RUNS, measuredAt: new Date().toISOString(), results };
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'bundles.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.rmSync(OUT, { recursive: true, force: true });
}

main();
