/**
 * Builds the console (`console/`) into `dist/console/`: one JavaScript and one CSS file, minified and
 * named by their content's hash (so they can be cached for ever), and `index.html` pointing at them.
 * Run by `npm run build` (and so by `npm ci`); `buildConsole` is also what the asset-size test measures.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_SOURCE_DIR = join(ROOT, 'console');
export const CONSOLE_OUT_DIR = join(ROOT, 'dist', 'console');

/** One file of the built console. */
export interface ConsoleAsset {
  /** The file's name in the output directory (`app-3F2A…js`, `index.html`). */
  name: string;
  contents: Uint8Array;
}

export interface ConsoleBuild {
  assets: ConsoleAsset[];
  /** Every source file that went into the bundle, relative to the repository (to check what it pulls in). */
  inputs: string[];
}

/** Builds the console in memory; with `outDir`, replaces that directory's contents with the result. */
export async function buildConsole(options: { outDir?: string } = {}): Promise<ConsoleBuild> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { app: join(CONSOLE_SOURCE_DIR, 'main.tsx') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox111', 'safari16.4'],
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    outdir: 'console-out',
    write: false,
    metafile: true,
    legalComments: 'eof',
    // The SDK reads these only when the caller gives no base URL or key; the console always gives both.
    define: { 'process.env.JOBS_API_URL': 'undefined', 'process.env.JOBS_API_KEY': 'undefined' },
    logLevel: 'silent',
  });
  const assets: ConsoleAsset[] = result.outputFiles.map((file) => ({
    name: basename(file.path),
    contents: file.contents,
  }));
  const script = assets.find((asset) => asset.name.endsWith('.js'));
  const style = assets.find((asset) => asset.name.endsWith('.css'));
  if (!script || !style) throw new Error('The console build produced no script or no stylesheet.');
  const template = await readFile(join(CONSOLE_SOURCE_DIR, 'index.html'), 'utf8');
  const html = template.replace('{{script}}', script.name).replace('{{style}}', style.name);
  assets.push({ name: 'index.html', contents: new TextEncoder().encode(html) });

  if (options.outDir !== undefined) {
    await rm(options.outDir, { recursive: true, force: true });
    await mkdir(options.outDir, { recursive: true });
    await Promise.all(
      assets.map((asset) => writeFile(join(options.outDir as string, asset.name), asset.contents)),
    );
  }
  return { assets, inputs: Object.keys(result.metafile.inputs) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { assets } = await buildConsole({ outDir: CONSOLE_OUT_DIR });
  const total = assets.reduce((sum, asset) => sum + asset.contents.length, 0);
  process.stdout.write(
    `console: ${assets.map((asset) => asset.name).join(', ')} (${total} bytes) in dist/console\n`,
  );
}
