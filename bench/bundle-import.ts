/**
 * What each Lambda function's bundle costs at a cold start, against the AWS SDK it cannot do without.
 *
 * Each function (functions/*.ts) is bundled as `cdk synth` bundles it (the JobsFunction esbuild options,
 * tracing off as deployments default to), and so is its baseline: a bundle of only the AWS SDK packages
 * that function imports (found in the function bundle's own metafile), every export of each kept, built
 * with the same options in the same run. For each function it prints both sizes and both cold import
 * times (a fresh `node` per import, the two bundles alternating, medians), and their ratios.
 *
 *   npx tsx bench/bundle-import.ts [imports=15]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { tracingDefine } from '../functions/tracing.js';
import { jobsEsbuildOptions } from '../infra/aws/jobs-function.js';

const FUNCTIONS = ['api', 'webhook', 'worker', 'dispatch', 'sweeper'] as const;
const imports = Number(process.argv[2] ?? 15);
const goal = 1.2;

const IMPORT_SCRIPT = [
  "const { pathToFileURL } = await import('node:url');",
  'const started = performance.now();',
  'await import(pathToFileURL(process.argv[1]).href);',
  'process.stdout.write(String(performance.now() - started));',
].join('\n');

/** Milliseconds to import `file` in a fresh node, as Lambda's runtime imports index.mjs. */
function importMs(file: string): number {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', IMPORT_SCRIPT, file], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`importing ${file} failed: ${result.stderr}`);
  return Number(result.stdout);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** The AWS SDK packages (`@aws-sdk/client-*`, `@aws-sdk/lib-*`) with code in a bundle (after tree shaking). */
function sdkPackagesOf(metafile: Metafile): string[] {
  const packages = new Set<string>();
  const kept = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, use]) => use.bytesInOutput > 0)
      .map(([input]) => input),
  );
  for (const input of kept) {
    const match = /node_modules\/(@aws-sdk\/(?:client|lib)-[\w-]+)\//.exec(input);
    if (match?.[1]) packages.add(match[1]);
  }
  return [...packages].sort();
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Bundles a function's entry file, or (`{ source }`) a module resolved from the repository root. */
async function bundle(entry: string | { source: string }, outfile: string) {
  const result = await build({
    ...jobsEsbuildOptions,
    define: tracingDefine(false),
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.source, resolveDir: REPO_ROOT, loader: 'js' as const } }),
    outfile,
    metafile: true,
    logLevel: 'error',
  });
  return { metafile: result.metafile, bytes: (await stat(outfile)).size };
}

const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB`;
const ratio = (value: number) => `${value.toFixed(2)}x`;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'bundle-import-'));
  try {
    const rows: string[][] = [];
    let worst = 0;
    for (const name of FUNCTIONS) {
      const entry = fileURLToPath(new URL(`../functions/${name}.ts`, import.meta.url));
      const fn = await bundle(entry, join(dir, name, 'index.mjs'));
      const packages = sdkPackagesOf(fn.metafile);
      const source = packages.map((pkg, index) => `export * as sdk${index} from '${pkg}';`).join('\n');
      const base = await bundle({ source }, join(dir, `${name}-sdk`, 'index.mjs'));
      // Alternating, so drift in the machine's load falls on both alike.
      const fnTimes: number[] = [];
      const baseTimes: number[] = [];
      for (let round = 0; round < imports; round++) {
        fnTimes.push(importMs(join(dir, name, 'index.mjs')));
        baseTimes.push(importMs(join(dir, `${name}-sdk`, 'index.mjs')));
      }
      const sizeRatio = fn.bytes / base.bytes;
      const timeRatio = median(fnTimes) / median(baseTimes);
      worst = Math.max(worst, sizeRatio, timeRatio);
      rows.push([
        name,
        kb(fn.bytes),
        kb(base.bytes),
        ratio(sizeRatio),
        `${median(fnTimes).toFixed(1)} ms`,
        `${median(baseTimes).toFixed(1)} ms`,
        ratio(timeRatio),
        packages.map((pkg) => pkg.replace('@aws-sdk/', '')).join(' + '),
      ]);
    }
    const header = ['function', 'bundle', 'SDK only', 'size', 'import', 'SDK import', 'time', 'SDK packages'];
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
    );
    const line = (cells: string[]) =>
      cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
    console.log(`Cold import, median of ${imports} fresh node processes per bundle, alternating`);
    console.log(line(header));
    for (const row of rows) console.log(line(row));
    console.log(`worst ratio ${ratio(worst)} (goal ≤ ${goal}x): ${worst <= goal ? 'met' : 'not met'}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
