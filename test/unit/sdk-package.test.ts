import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The package as a user installs it: the SDK built with `npm run build`'s settings (tsconfig.build.json,
 * narrowed to `sdk/` so the CLI's state does not matter here) next to the package.json that maps
 * `serverless-jobs/client` onto it. Built in a temp dir, not `dist/`, so a concurrent build cannot see or
 * clobber a half-written tree.
 */
let packageDir: string;

beforeAll(async () => {
  packageDir = await mkdtemp(join(tmpdir(), 'sdk-package-'));
  const config = join(packageDir, 'tsconfig.json');
  await writeFile(
    config,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      // Type roots are looked up from the config's own dir by default.
      compilerOptions: {
        rootDir: ROOT,
        outDir: join(packageDir, 'dist'),
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      include: [join(ROOT, 'sdk')],
    }),
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', config], { cwd: ROOT }).catch(
    (error: { stdout?: string; message: string }) => {
      throw new Error(`The build failed:\n${error.stdout || error.message}`);
    },
  );
  await cp(join(ROOT, 'package.json'), join(packageDir, 'package.json'));
}, 180_000);

afterAll(async () => {
  if (packageDir) await rm(packageDir, { recursive: true, force: true });
});

/**
 * Every file the runtime code of `entry` imports, transitively, and every bare or builtin specifier;
 * with `followDynamic: false`, only what loading it loads (no `import()` taken).
 */
async function importGraph(
  entry: string,
  { followDynamic = true } = {},
): Promise<{ files: string[]; external: string[] }> {
  const files = new Set<string>();
  const external = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    // TypeScript's own scanner: static and dynamic imports, re-exports and requires; comments skipped.
    const text = await readFile(file, 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const { fileName: specifier, pos } of importedFiles) {
      const dynamic = /import\(\s*['"]?$/.test(text.slice(Math.max(0, pos - 20), pos));
      if (dynamic && !followDynamic) continue;
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier));
      else external.add(specifier);
    }
  }
  return {
    files: [...files].map((file) => relative(packageDir, file)).sort(),
    external: [...external].sort(),
  };
}

describe('the built SDK package', () => {
  it('loads as serverless-jobs/client in a fresh node process and constructs a working client', async () => {
    // Prepare
    const script = join(packageDir, 'check.mjs');
    await writeFile(
      script,
      [
        "import * as sdk from 'serverless-jobs/client';",
        'const requests = [];',
        'const client = new sdk.ControlPlaneClient({',
        "  baseUrl: 'https://jobs.example.test',",
        "  apiKey: 'sk_test',",
        '  fetch: async (url, init) => {',
        "    requests.push([init.method, String(url), init.headers.authorization].join(' '));",
        "    return new Response(JSON.stringify({ error: { code: 'not_found', message: 'No job.', details: [] } }), { status: 404 });",
        '  },',
        '});',
        "const error = await client.jobs.get('job_1').catch((e) => e);",
        'console.log(JSON.stringify({',
        '  exports: Object.keys(sdk).sort(),',
        '  requests,',
        '  notFound: error instanceof sdk.NotFoundError && error instanceof sdk.JobError,',
        '  status: error.status,',
        '}));',
      ].join('\n'),
    );

    // Act
    const { stdout } = await run(process.execPath, [script], { cwd: packageDir });

    // Assess
    expect(JSON.parse(stdout)).toEqual({
      exports: [
        'ApiKeysResource',
        'AuthError',
        'ConflictError',
        'ControlPlaneClient',
        'EntitiesResource',
        'ExecutionsResource',
        'JobError',
        'JobsResource',
        'NetworkError',
        'NotFoundError',
        'RateLimitedError',
        'ServerError',
        'TimeoutError',
        'ValidationError',
        'describeTarget',
        'signWebhookPayload',
        'standardWebhookHeaders',
      ],
      requests: ['GET https://jobs.example.test/jobs/job_1 Bearer sk_test'],
      notFound: true,
      status: 404,
    });
  });

  it('imports nothing at run time but its own files and node: builtins (no zod)', async () => {
    // Act
    const graph = await importGraph(join(packageDir, 'dist', 'sdk', 'index.js'), { followDynamic: false });

    // Assess
    expect(graph.external).toEqual(['node:crypto']);
    expect(graph.files).toEqual([
      'dist/sdk/api-keys.js',
      'dist/sdk/client.js',
      'dist/sdk/entities.js',
      'dist/sdk/errors.js',
      'dist/sdk/executions.js',
      'dist/sdk/http.js',
      'dist/sdk/index.js',
      'dist/sdk/jobs.js',
      'dist/sdk/node-client.js',
      'dist/sdk/paging.js',
      'dist/sdk/webhooks.js',
      'dist/shared/domain/signature.js',
    ]);
  });

  it('loads the SigV4 signing packages only through the import a client with IAM auth makes', async () => {
    // Act
    const graph = await importGraph(join(packageDir, 'dist', 'sdk', 'index.js'));

    // Assess
    expect(graph.external).toEqual([
      '@aws-sdk/credential-provider-node',
      '@smithy/hash-node',
      '@smithy/signature-v4',
      'node:crypto',
    ]);
    expect(graph.files).toContain('dist/sdk/iam-signing.js');
  });

  it('ships type declarations where package.json exports them', async () => {
    // Prepare
    const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    const entry = manifest.exports['./client'];

    // Act
    const declarations = await readFile(join(packageDir, entry?.types ?? 'missing'), 'utf8');

    // Assess
    expect(entry).toEqual({ types: './dist/sdk/index.d.ts', default: './dist/sdk/index.js' });
    expect(declarations).toContain('ControlPlaneClient');
    expect(declarations).toContain('RateLimitedError');
  });
});
