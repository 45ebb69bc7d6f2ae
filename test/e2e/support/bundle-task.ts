import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * Runs the esbuild step of a projen bundle task (`bundle:lambda/local/cli`, ...) with its very
 * arguments but another `--outfile` (or, for a function's folder, `--outdir` beside it): a test runs what ships, built from the current sources.
 */
export function bundleWithTask(task: string, outfile: string): void {
  const tasks = JSON.parse(readFileSync(join(ROOT, '.projen', 'tasks.json'), 'utf8')) as {
    tasks: Record<string, { steps: { execArgs?: string[] }[] } | undefined>;
  };
  const args = tasks.tasks[task]?.steps.find((step) => step.execArgs?.[0] === 'esbuild')?.execArgs;
  if (!args) throw new Error(`the ${task} task no longer runs esbuild`);
  // The functions' tasks write a folder (index.mjs and its chunks), the others one file.
  const esbuildArgs = args.slice(1).map((arg) => (arg.startsWith('--outfile=') ? `--outfile=${outfile}`
    : arg.startsWith('--outdir=') ? `--outdir=${dirname(outfile)}` : arg));
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'esbuild'), [...esbuildArgs, '--log-level=error'], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`esbuild (${task}) failed: ${result.stderr}`);
}
