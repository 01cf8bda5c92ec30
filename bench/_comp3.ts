import { build } from 'esbuild';
import { tracingDefine } from '../functions/tracing.js';
import { jobsEsbuildOptions } from '../infra/aws/jobs-function.js';
for (const fn of ['api','webhook','worker','dispatch','sweeper']) {
const r = await build({ ...jobsEsbuildOptions, define: tracingDefine(false), entryPoints: [`functions/${fn}.ts`], outfile: `/tmp/b-${fn}.mjs`, metafile: true, logLevel: 'error' });
const g: Record<string, number> = {};
for (const out of Object.values(r.metafile.outputs)) for (const [input, use] of Object.entries(out.inputs)) {
  const k = /@aws-sdk|@smithy|@aws-crypto|fast-xml|tslib|bowser|strnum|uuid/.test(input) ? 'sdk' : /node_modules\/zod/.test(input) ? 'zod' : /powertools|lambda-invoke/.test(input) ? 'powertools' : input.includes('node_modules') ? 'other-npm' : 'ours';
  g[k] = (g[k] ?? 0) + use.bytesInOutput;
}
console.log(fn, Object.entries(g).map(([k, v]) => `${k} ${(v/1024).toFixed(0)}`).join('  '));
}
