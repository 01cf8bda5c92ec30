/**
 * `npm run openapi`: writes the OpenAPI document to docs/openapi.json, formatted as Biome formats it
 * (so `npm run lint` passes on the committed copy). The document is deterministic: running this twice
 * gives the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '../shared/http/openapi.js';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
// Biome's JSON layout (short arrays on one line) is not JSON.stringify's; its own formatter settles it.
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
execFileSync(process.execPath, [biome, 'format', '--write', target], { stdio: 'inherit' });
console.log(`wrote ${target}`);
