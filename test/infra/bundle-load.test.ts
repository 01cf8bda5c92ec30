import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobsApp } from '../../infra/aws/jobs-app.js';
import { esmRequireBanner, jobsEsbuildOptions } from '../../infra/aws/jobs-function.js';
import { workerFunctionsOf } from './support.js';

// Every Lambda entry point of the stack.
const entries = ['api', 'worker', 'sweeper', 'webhook', 'dispatch', 'console'].map(
  (name) => [name, fileURLToPath(new URL(`../../functions/${name}.ts`, import.meta.url))] as const,
);

// Imports the bundle the way the Lambda runtime does (ESM import of index.mjs) and checks its export.
const loadScript = [
  "const { pathToFileURL } = await import('node:url');",
  'const bundle = await import(pathToFileURL(process.argv[1]).href);',
  "if (typeof bundle.handler !== 'function') { console.error('handler is ' + typeof bundle.handler); process.exit(3); }",
].join('\n');

/**
 * Imports `file` in a fresh `node` with no app environment (no TABLE_NAME, QUEUE_URLS, KMS_KEY_ID, AWS_*):
 * loading must neither need it nor reach AWS.
 */
function loadInFreshNode(file: string) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', loadScript, file], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '--enable-source-maps' },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/**
 * The services each function does not build, by module (shared/app/<name>.ts): its bundle must not carry
 * them. A module's few bytes of constants may remain; its class may not.
 */
const unusedServices: Record<string, string[]> = {
  dispatch: [
    'run-worker',
    'started-work',
    'webhook-service',
    'schedule-sync',
    'audit-trail',
    'api-key-service',
    'alert-service',
    'channel-service',
    'notification-delivery',
  ],
  webhook: [
    'run-worker',
    'started-work',
    'schedule-sync',
    'audit-trail',
    'api-key-service',
    'alert-service',
    'channel-service',
    'notification-delivery',
  ],
  // The worker and the sweeper carry the audit trail: alerting records the jobs it pauses there.
  worker: ['run-service', 'webhook-service', 'schedule-sync', 'api-key-service'],
  sweeper: ['run-worker', 'started-work', 'webhook-service', 'api-key-service'],
};
const CONSTANTS_ONLY_BYTES = 100;

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('function bundles', () => {
  it.each(entries)(
    '%s: built with the JobsFunction esbuild options, loads in a fresh node process and exports handler',
    async (name, entry) => {
      // Prepare
      const outfile = join(tempDir('jobs-bundle-'), 'index.mjs');
      const { metafile } = await build({
        ...jobsEsbuildOptions,
        entryPoints: [entry],
        outfile,
        metafile: true,
        logLevel: 'error',
      });

      // Act
      const result = loadInFreshNode(outfile);

      // Assess
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const code = readFileSync(outfile, 'utf8');
      expect(code.startsWith(esmRequireBanner)).toBe(true);
      // The AWS SDK is bundled, not imported from the runtime.
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(existsSync(`${outfile}.map`)).toBe(true);
      // zod/mini only: classic zod's methods, JSON Schema code and locales would double its share.
      const inputs = Object.values(metafile.outputs).flatMap((output) =>
        Object.entries(output.inputs).filter(([, use]) => use.bytesInOutput > 0),
      );
      expect(
        inputs
          .map(([input]) => input)
          .filter((input) => /node_modules\/zod\/(v4\/classic|index)/.test(input)),
      ).toEqual([]);
      const services = inputs
        .filter(([input, use]) => /^shared\/app\//.test(input) && use.bytesInOutput > CONSTANTS_ONLY_BYTES)
        .map(([input]) => input.replace(/^shared\/app\/(.*)\.ts$/, '$1'));
      expect(services.filter((service) => unusedServices[name]?.includes(service))).toEqual([]);
    },
  );

  it('as bundled by cdk synth (local esbuild, no Docker), loads in a fresh node process', () => {
    // Prepare
    const outdir = tempDir('jobs-cdk-out-');
    const { app, stack } = createJobsApp({ outdir, context: { env: 'test' } });

    // Act
    app.synth();
    const bundles = readdirSync(outdir)
      .filter((name) => name.startsWith('asset.'))
      .map((name) => join(outdir, name, 'index.mjs'))
      .filter((file) => existsSync(file));

    // Assess: one asset per entry point; the workers of all queues share one (assets are keyed by content).
    expect(workerFunctionsOf(stack).size).toBeGreaterThan(1);
    expect(bundles.length).toBe(entries.length);
    for (const bundle of bundles) {
      const result = loadInFreshNode(bundle);
      expect(result.stderr, bundle).toBe('');
      expect(result.status, bundle).toBe(0);
      expect(readFileSync(bundle, 'utf8').startsWith(esmRequireBanner), bundle).toBe(true);
    }
    // What functions read at run time ships beside their bundle: the API's document, the console's files.
    const beside = (file: string) => bundles.filter((bundle) => existsSync(join(dirname(bundle), file)));
    expect(beside('openapi.json')).toHaveLength(1);
    expect(beside('console/index.html')).toHaveLength(1);
    const document = readFileSync(join(dirname(beside('openapi.json')[0] as string), 'openapi.json'), 'utf8');
    expect(document).toBe(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
  });
});
