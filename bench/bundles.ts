/**
 * Lean functions: what each bundled function weighs and how long its cold import takes, the
 * shipped build (the `bundle:lambda/aws/*` tasks in .projen/tasks.json: code splitting, minified
 * with names kept, no source map) next to the earlier build (one file, minified, with a source map
 * loaded by `--enable-source-maps`), and the alternatives the choice was made against. Every
 * variant is built by this script from the same sources into bench/.build/, and the cold imports
 * (a fresh Node process each) alternate between the variants so machine noise hits all alike.
 * "Loaded" counts the files a cold import reads: the entry and the chunks it imports statically
 * (chunks imported with `import()`, such as the RPC client or the SDK's unused credential
 * providers, load only when used). Writes bench/results/bundles.json.
 *
 * Run: npx projen bench:bundles (BENCH_RUNS=n for more or fewer imports per variant)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CABLE_FUNCTIONS, CableFunctionName, FUNCTION_BUNDLE_FILE, FUNCTIONS_DIR, functionBundleName } from '../src/contract/functions';

const ROOT = path.join(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const OUT = path.join(ROOT, 'bench', '.build');
const ESBUILD = path.join(ROOT, 'node_modules', '.bin', 'esbuild');
const BANNER = "import{createRequire as __cableRequire}from'node:module';const require=__cableRequire(import.meta.url);";

interface Variant {
  readonly name: string;
  readonly description: string;
  /** The esbuild arguments, given the entry point and the output folder. */
  readonly args: (fn: CableFunctionName, dir: string) => string[];
  /** Node flags of the import (what NODE_OPTIONS gives the function). */
  readonly nodeFlags: string[];
}

/** The flags of the shipped task, with its output folder moved, `drop` left out and `extra` added. */
function shippedArgs(name: CableFunctionName, dir: string, extra: string[] = [], drop: string[] = []): string[] {
  const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8'));
  const steps: Array<{ execArgs?: string[] }> = tasks.tasks[`bundle:${FUNCTIONS_DIR}/${functionBundleName(name)}`].steps;
  const args = steps.find((step) => step.execArgs?.[0] === 'esbuild')!.execArgs!.slice(1);
  return [...args.map((arg) => (arg.startsWith('--outdir=') ? `--outdir=${dir}` : arg)).filter((arg) => !drop.includes(arg)), ...extra];
}

const VARIANTS: Variant[] = [
  {
    name: 'before',
    description: 'the earlier build: one file, minified, source map beside it, NODE_OPTIONS=--enable-source-maps',
    args: (fn, dir) => [path.join(FUNCTIONS_DIR, `${functionBundleName(fn)}.ts`), '--bundle', '--platform=node', '--target=node22', '--format=esm', '--minify', '--sourcemap',
      `--banner:js=${BANNER}`, '--main-fields=module,main', `--outfile=${path.join(dir, FUNCTION_BUNDLE_FILE)}`],
    nodeFlags: ['--enable-source-maps'],
  },
  {
    name: 'after',
    description: 'the shipped build: code splitting, minified with --keep-names; its source maps (no sources) are not loaded (sourceMaps: false, the default)',
    args: (fn, dir) => shippedArgs(fn, dir),
    nodeFlags: [],
  },
  {
    name: 'afterWithSourceMaps',
    description: 'the shipped build imported with --enable-source-maps (sourceMaps: true)',
    args: (fn, dir) => shippedArgs(fn, dir),
    nodeFlags: ['--enable-source-maps'],
  },
  {
    name: 'afterNotMinified',
    description: 'code splitting, not minified',
    args: (fn, dir) => shippedArgs(fn, dir, [], ['--minify', '--keep-names']),
    nodeFlags: [],
  },
  {
    name: 'afterWithoutKeepNames',
    description: 'code splitting, minified without --keep-names',
    args: (fn, dir) => shippedArgs(fn, dir, [], ['--keep-names']),
    nodeFlags: [],
  },
];

function build(variant: Variant, fn: CableFunctionName): string {
  const dir = path.join(OUT, variant.name, fn);
  execFileSync(ESBUILD, [...variant.args(fn, dir), '--log-level=error'], { cwd: ROOT });
  return dir;
}

/** Every file under `dir`, with its size. */
function files(dir: string): Array<[string, number]> {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile())
    .map((f) => [f, fs.statSync(f).size]);
}

/** The entry and the chunks it imports statically (`from"./chunks/..."`), transitively. */
function staticallyLoaded(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = fs.readFileSync(file, 'utf8');
    for (const match of code.matchAll(/(?:from|import)\s*"(\.{1,2}\/[^"]+)"/g)) visit(path.resolve(path.dirname(file), match[1]));
  };
  visit(entry);
  return [...seen];
}

/** Milliseconds to import the module (and with it the SDK) in a fresh process. */
function coldImportMs(file: string, nodeFlags: string[]): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  return Number(execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

function main(): void {
  fs.rmSync(OUT, { recursive: true, force: true });
  const results = CABLE_FUNCTIONS.map((fn) => {
    const dirs = Object.fromEntries(VARIANTS.map((v) => [v.name, build(v, fn)]));
    const entry = (v: Variant) => path.join(dirs[v.name], FUNCTION_BUNDLE_FILE);
    const times: Record<string, number[]> = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
    for (const v of VARIANTS) coldImportMs(entry(v), v.nodeFlags); // warm the disk cache for all
    for (let i = 0; i < RUNS; i++) {
      // Each run starts with the next variant, so none is always first or last.
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(i + k) % VARIANTS.length];
        times[v.name].push(coldImportMs(entry(v), v.nodeFlags));
      }
    }
    const variants = Object.fromEntries(VARIANTS.map((v) => {
      const all = files(dirs[v.name]);
      const loaded = staticallyLoaded(entry(v));
      const size = (list: Array<[string, number]>) => list.reduce((sum, [, bytes]) => sum + bytes, 0);
      return [v.name, {
        files: all.length,
        codeBytes: size(all.filter(([f]) => !f.endsWith('.map'))),
        mapBytes: size(all.filter(([f]) => f.endsWith('.map'))),
        loadedAtImportBytes: size(all.filter(([f]) => loaded.includes(f))),
        importMsMedian: Number(median(times[v.name]).toFixed(1)),
      }];
    }));
    const before = variants.before;
    const after = variants.after;
    console.log(`${fn.padEnd(10)} before ${kb(before.codeBytes)} + map ${kb(before.mapBytes)}, ${before.importMsMedian} ms | after ${kb(after.codeBytes)} (${kb(after.loadedAtImportBytes)} loaded), ${after.importMsMedian} ms | `
      + VARIANTS.slice(2).map((v) => `${v.name} ${variants[v.name].importMsMedian} ms`).join(', '));
    return { function: fn, variants, importTimeRatioAfterOverBefore: Number((after.importMsMedian / before.importMsMedian).toFixed(2)) };
  });
  const report = {
    node: process.version,
    runs: RUNS,
    measuredAt: new Date().toISOString(),
    variants: Object.fromEntries(VARIANTS.map((v) => [v.name, { description: v.description, nodeFlags: v.nodeFlags }])),
    results,
  };
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'bundles.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.rmSync(OUT, { recursive: true, force: true });
}

main();
