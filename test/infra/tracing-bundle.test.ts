import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { tracingDefine } from '../../functions/tracing.js';
import { jobsEsbuildOptions } from '../../infra/aws/jobs-function.js';

const entry = (name: string) => fileURLToPath(new URL(`../../functions/${name}.ts`, import.meta.url));
const ENTRIES = ['api', 'worker', 'sweeper', 'webhook', 'dispatch'];

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Bundles a function as the stack does, for a deployment that does or does not trace. */
async function bundle(name: string, tracing: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'jobs-tracing-'));
  tempDirs.push(dir);
  const outfile = join(dir, 'index.mjs');
  const result = await build({
    ...jobsEsbuildOptions,
    define: tracingDefine(tracing),
    entryPoints: [entry(name)],
    outfile,
    metafile: true,
    logLevel: 'error',
  });
  const inputs = Object.keys(result.metafile.inputs);
  return {
    outfile,
    has: (pattern: RegExp) => inputs.some((input) => pattern.test(input)),
  };
}

/** Imports a bundle as the Lambda runtime does, invokes its handler once, prints what it threw. */
const INVOKE_ONCE = [
  "const { pathToFileURL } = await import('node:url');",
  'const bundle = await import(pathToFileURL(process.argv[1]).href);',
  "try { await bundle.handler({}, { awsRequestId: 'r-1' }); console.log('built'); }",
  'catch (error) { console.log(error.message); }',
].join('\n');

const TRACER = /node_modules\/@aws-lambda-powertools\/tracer\//;
const XRAY_SDK = /node_modules\/aws-xray-sdk-core\//;

describe('tracing in function bundles', () => {
  it.each(ENTRIES)(
    '%s: holds neither the Tracer nor the X-Ray SDK when the deployment does not trace',
    async (name) => {
      // Act
      const off = await bundle(name, false);

      // Assess
      expect(off.has(TRACER)).toBe(false);
      expect(off.has(XRAY_SDK)).toBe(false);
      expect(off.has(/node_modules\/@aws-lambda-powertools\/logger\//)).toBe(true);
    },
  );

  it('holds both when it traces, and loads them in the first invocation in a fresh node process', async () => {
    // Act
    const on = await bundle('api', true);

    // Assess
    expect(on.has(TRACER)).toBe(true);
    expect(on.has(XRAY_SDK)).toBe(true);
    // The first invocation imports the Tracer, then builds the handler, which stops at the missing
    // environment: the Tracer and the X-Ray SDK did load from the single-file ESM bundle.
    const invoked = spawnSync(process.execPath, ['--input-type=module', '-e', INVOKE_ONCE, on.outfile], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(invoked.stdout.trim()).toMatch(/^Invalid function environment: [A-Z_]+ is not set/);
    expect(invoked.status).toBe(0);
  });
});
