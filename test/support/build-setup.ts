import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Vitest runs a global setup once per project that inherits it: the build is shared through globalThis.
const SHARED = Symbol.for('serverless-jobs.test.build');
const registry = globalThis as typeof globalThis & { [SHARED]?: Promise<void> };

/**
 * Vitest global setup: builds dist/ once per run, as `npm run build` does (the SDK and CLI with tsc, the
 * console with esbuild), before any e2e file starts.
 * The e2e tests run the package as users do (`serverless-jobs/client`, `node dist/cli/main.js`); building
 * here, once, means no test file rebuilds the tree while another one's child processes are loading it.
 */
export default async function setup(project: TestProject): Promise<void> {
  if (project.name !== 'e2e') return;
  const run = promisify(execFile);
  const bin = (name: string) => fileURLToPath(new URL(`node_modules/.bin/${name}`, `file://${REPO_ROOT}/`));
  registry[SHARED] ??= Promise.all([
    run(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, timeout: 180_000 }),
    run(bin('tsx'), ['scripts/build-console.ts'], { cwd: REPO_ROOT, timeout: 180_000 }),
  ]).then(
    () => undefined,
    (error: { stdout?: string; message: string }) => {
      throw new Error(`npm run build failed:\n${error.stdout || error.message}`);
    },
  );
  await registry[SHARED];
}
