import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { round } from './settings';

const ROOT = path.join(__dirname, '..', '..');

/** The machine a benchmark ran on, for reading its figures later (these machines are noisy). */
export function machineInfo(loadAverageAtStart: number[]) {
  return {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    memoryGb: round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart,
  };
}

/** Writes `report` as pretty JSON to `out` (bench/results/*.json) and says where. */
export function writeReport(out: string, report: unknown): void {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(ROOT, out)}`);
}
