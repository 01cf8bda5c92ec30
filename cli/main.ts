#!/usr/bin/env node
import { text } from 'node:stream/consumers';
import { run } from './run.js';

// Ctrl+C stops `--watch` and `--wait` cleanly (they check the signal); a second Ctrl+C exits at once.
const interrupt = new AbortController();
process.once('SIGINT', () => {
  interrupt.abort();
  process.once('SIGINT', () => process.exit(130));
});

// `jobs list | head`: once the reader has gone, stop quietly instead of crashing on EPIPE, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit();
  });
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  readStdin: () => text(process.stdin),
  // In-flight requests end on Ctrl+C too, so no command outlives it by a request timeout.
  fetch: (input, init) =>
    globalThis.fetch(input, {
      ...init,
      signal: init?.signal ? AbortSignal.any([init.signal, interrupt.signal]) : interrupt.signal,
    }),
  signal: interrupt.signal,
});
