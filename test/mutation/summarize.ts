/**
 * Turns Stryker's JSON report (mutation-testing-report-schema) into reports/mutation/summary.json,
 * the figures committed beside the code they measured. Run by `npx projen test:mutation` after
 * Stryker; `summarize.ts [report] [summary] [scope]` for other paths, or to name the files a run
 * limited with `--mutate` measured.
 *
 * `score` is Stryker's mutation score: detected (killed + timeout) over valid mutants (detected +
 * survived + no coverage), in percent; compile and runtime errors and ignored mutants are not valid.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const SCOPE = 'lambda/core';

/** The part of mutation-testing-report-schema this script reads. */
export interface MutationReport {
  readonly files: Record<string, { readonly mutants: readonly { readonly status: MutantStatus }[] }>;
}

export type MutantStatus = 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';

export interface MutationSummary {
  readonly scope: string;
  readonly measuredAt: string;
  /** Valid mutants: the ones the score counts (killed + survived + timeout + no coverage). */
  readonly mutants: number;
  readonly killed: number;
  readonly survived: number;
  readonly timeout: number;
  readonly noCoverage: number;
  readonly score: number;
  /** Outside the score: static mutants skipped by `ignoreStatic`, mutants that do not compile, or crash the run. */
  readonly ignored: number;
  readonly invalid: number;
  /** Score per file; files without a valid mutant (types only) are left out. */
  readonly byFile: Record<string, number>;
}

interface Counts { killed: number; survived: number; timeout: number; noCoverage: number }

export function summarize(report: MutationReport, measuredAt: string, scope = SCOPE, root = process.cwd()): MutationSummary {
  const total: Counts = { killed: 0, survived: 0, timeout: 0, noCoverage: 0 };
  const byFile: Record<string, number> = {};
  let ignored = 0;
  let invalid = 0;
  for (const [path, file] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
    const statuses = file.mutants.map((mutant) => mutant.status);
    ignored += statuses.filter((status) => status === 'Ignored').length;
    invalid += statuses.filter((status) => status === 'CompileError' || status === 'RuntimeError').length;
    const counts = count(statuses);
    for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += counts[key];
    const score = scoreOf(counts);
    if (score !== undefined) byFile[normalize(path, root)] = score;
  }
  return {
    scope,
    measuredAt,
    mutants: total.killed + total.survived + total.timeout + total.noCoverage,
    ...total,
    score: scoreOf(total) ?? 0,
    ignored,
    invalid,
    byFile,
  };
}

function count(statuses: readonly MutantStatus[]): Counts {
  const of = (status: MutantStatus) => statuses.filter((s) => s === status).length;
  return { killed: of('Killed'), survived: of('Survived'), timeout: of('Timeout'), noCoverage: of('NoCoverage') };
}

/** Percent, two decimals; undefined when there is no valid mutant. */
function scoreOf({ killed, survived, timeout, noCoverage }: Counts): number | undefined {
  const valid = killed + survived + timeout + noCoverage;
  return valid === 0 ? undefined : Math.round(((killed + timeout) / valid) * 10_000) / 100;
}

/** Report paths are relative to where Stryker ran, or absolute in some versions. */
function normalize(path: string, root: string): string {
  return (path.startsWith('/') ? relative(root, path) : path).split('\\').join('/');
}

if (require.main === module) {
  const [reportPath = 'reports/mutation/mutation.json', summaryPath = 'reports/mutation/summary.json', scope = SCOPE] = process.argv.slice(2);
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as MutationReport;
  const summary = summarize(report, statSync(reportPath).mtime.toISOString(), scope);
  writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  const files = Object.entries(summary.byFile);
  const lowest = files.reduce((min, entry) => (entry[1] < min[1] ? entry : min), files[0] ?? ['-', 0]);
  console.log(`${resolve(summaryPath)}: ${summary.mutants} mutants, score ${summary.score}, lowest file ${lowest[0]} ${lowest[1]}`);
}
