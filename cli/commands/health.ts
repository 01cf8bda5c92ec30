import type { CommandSpec } from '../command.js';
import { sendRequest } from '../http.js';

export const healthCommands: readonly CommandSpec[] = [
  {
    name: 'health',
    args: [],
    summary: 'Check that the service answers',
    description: 'Calls GET /health (no API key needed) and prints the answer with the URL it reached.',
    options: {},
    examples: ['jobs health', 'jobs health --url https://abc123.execute-api.eu-west-1.amazonaws.com'],
    async run(context) {
      const base = context.apiUrl();
      const answer = await sendRequest(
        context.fetch,
        'GET',
        new URL('health', base.endsWith('/') ? base : `${base}/`),
      );
      if (context.json) context.printJson(answer);
      else context.print(`${(answer as { status?: unknown } | undefined)?.status ?? 'ok'}  ${base}`);
      return 0;
    },
  },
];
