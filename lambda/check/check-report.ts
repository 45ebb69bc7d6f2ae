import { CheckReport, CheckStep } from './check-scenario';

const MARK: Record<CheckStep['status'], string> = { pass: '✓', fail: '✗', skip: '-' };

/**
 * The report as text: one line per step (mark, name, what was expected, what came back,
 * milliseconds), a failure's likely cause and fix indented under it, and a summary line.
 */
export function formatCheckReport(report: CheckReport): string[] {
  const width = Math.max(...report.steps.map((s) => s.name.length)) + 2;
  const lines = [`cdk-cable check ${report.url}`];
  for (const step of report.steps) {
    const ms = step.ms === undefined ? '' : ` (${step.ms} ms)`;
    lines.push(step.status === 'skip'
      ? `${MARK.skip} ${step.name.padEnd(width)}${step.got}`
      : `${MARK[step.status]} ${step.name.padEnd(width)}expected ${step.expected}; got ${step.got}${ms}`);
    if (step.hint) lines.push(`  ${''.padEnd(width)}→ ${step.hint}`);
  }
  const count = (status: CheckStep['status']) => report.steps.filter((s) => s.status === status).length;
  const measured = [
    report.pingIntervalMs === undefined ? undefined : `ping interval ${report.pingIntervalMs} ms`,
    report.broadcastLatencyMs === undefined ? undefined : `broadcast latency ${report.broadcastLatencyMs} ms`,
  ].filter((m) => m !== undefined);
  lines.push(`${report.ok ? 'ok' : 'FAILED'}: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped${measured.length ? `; ${measured.join(', ')}` : ''}`);
  return lines;
}
