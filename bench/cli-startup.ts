/**
 * How long the built `jobs` CLI takes to start and answer, against a bare `node -e 0` started the same way
 * in the same run: `npx tsx bench/cli-startup.ts [runs]` (after `npm run build`). Runs alternate, so load
 * on the machine hits both alike; medians are compared.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const RUNS = Number(process.argv[2] ?? 15);
const CLI = 'dist/cli/main.js';
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first.`);

const time = (args: string[]) => {
  const started = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e6;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const samples: Record<'baseline' | 'version' | 'cron', number[]> = { baseline: [], version: [], cron: [] };
for (let run = 0; run < RUNS; run++) {
  samples.baseline.push(time(['-e', '0']));
  samples.version.push(time([CLI, '--version']));
  // The one command that loads the domain's schemas (zod), computing a preview offline.
  samples.cron.push(time([CLI, 'cron', '0 9 * * 1-5', '--tz', 'Europe/London', '-n', '5']));
}
const base = median(samples.baseline);
console.log(`runs: ${RUNS}, medians`);
console.log(`baseline: node -e 0        ${base.toFixed(0).padStart(5)} ms`);
for (const [name, label] of [
  ['version', 'jobs --version'],
  ['cron', 'jobs cron (offline)'],
] as const) {
  const value = median(samples[name]);
  console.log(
    `${label.padEnd(26)} ${value.toFixed(0).padStart(5)} ms   ${(value / base).toFixed(1)}x baseline`,
  );
}
