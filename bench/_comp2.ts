import { build } from 'esbuild';
import { tracingDefine } from '../functions/tracing.js';
import { jobsEsbuildOptions } from '../infra/aws/jobs-function.js';
const fn = process.argv[2]!;
const r = await build({ ...jobsEsbuildOptions, define: tracingDefine(false), entryPoints: [`functions/${fn}.ts`], outfile: `/tmp/b-${fn}.mjs`, metafile: true, logLevel: 'error' });
const rows: [string, number][] = [];
for (const out of Object.values(r.metafile.outputs)) for (const [input, use] of Object.entries(out.inputs)) if (!input.includes('node_modules')) rows.push([input, use.bytesInOutput]);
for (const [k, v] of rows.sort((a, b) => b[1] - a[1])) console.log(`${(v / 1024).toFixed(1).padStart(6)} ${k}`);
