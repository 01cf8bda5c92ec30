import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Logger } from '../ports.js';

export type ConsoleResponse = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
};

export interface ConsoleHandlerOptions {
  /** The built console (`dist/console` locally; the function asset's `console/` on AWS). */
  assetsDir: string;
  /** Where unexpected failures (an unreadable assets directory) are logged. @default one JSON line on stderr */
  logger?: Logger;
}

/**
 * Sent with every answer, errors included. The page loads only its own script and stylesheet and talks
 * only to its own origin; `data:` images are its inline icon. No framing, no `<base>`, no inline script.
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};
/** esbuild's `[name]-[hash]`: the name changes whenever the content does, so it may be cached for ever. */
const HASHED_NAME = /-[A-Z0-9]{8}\.[a-z]+$/;
/** Smaller bodies gain nothing from compression. */
const GZIP_MIN_BYTES = 1024;

interface Asset {
  contentType: string;
  cacheControl: string;
  body: Buffer;
  gzipped: Buffer | null;
}

/**
 * Reads the built files once: a flat directory, each file known by its exact name. Requests are matched
 * against these names and nothing else, so no request path ever reaches the file system.
 */
async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const extension = entry.name.slice(entry.name.lastIndexOf('.'));
    const contentType = CONTENT_TYPES[extension];
    if (!contentType) continue;
    const body = await readFile(join(dir, entry.name));
    assets.set(entry.name, {
      contentType,
      cacheControl: HASHED_NAME.test(entry.name) ? 'public, max-age=31536000, immutable' : 'no-cache',
      body,
      gzipped: body.length >= GZIP_MIN_BYTES ? gzipSync(body, { level: 9 }) : null,
    });
  }
  return assets;
}

function text(statusCode: number, message: string, headers: Record<string, string> = {}): ConsoleResponse {
  return {
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: `${message}\n`,
  };
}

function acceptsGzip(event: APIGatewayProxyEventV2): boolean {
  const header = Object.entries(event.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'accept-encoding',
  );
  return /\bgzip\b/i.test(header?.[1] ?? '');
}

function serve(asset: Asset, event: APIGatewayProxyEventV2, head: boolean): ConsoleResponse {
  const gzip = asset.gzipped !== null && acceptsGzip(event);
  const body = gzip ? (asset.gzipped as Buffer) : asset.body;
  return {
    statusCode: 200,
    headers: {
      'content-type': asset.contentType,
      'cache-control': asset.cacheControl,
      'content-length': String(body.length),
      ...(asset.gzipped !== null && { vary: 'accept-encoding' }),
      ...(gzip && { 'content-encoding': 'gzip' }),
    },
    body: head ? '' : body.toString('base64'),
    isBase64Encoded: !head,
  };
}

/** Every answer carries the security headers, whatever produced it (the route, a 404, a failure). */
function securityHeaders(
  logger: Logger | undefined,
): middy.MiddlewareObj<APIGatewayProxyEventV2, ConsoleResponse> {
  const add = (request: middy.Request<APIGatewayProxyEventV2, ConsoleResponse>) => {
    if (request.response) {
      request.response = {
        ...request.response,
        headers: { ...request.response.headers, ...CONSOLE_SECURITY_HEADERS },
      };
    }
  };
  return {
    after: add,
    onError: (request) => {
      const fields = {
        error: request.error,
        path: request.event.rawPath,
        requestId: request.event.requestContext?.requestId,
      };
      if (logger) logger.error('console request failed', fields);
      else
        console.error(
          JSON.stringify({
            level: 'ERROR',
            message: 'console request failed',
            ...fields,
            error: String(request.error),
          }),
        );
      request.response = text(500, 'Internal server error.');
      add(request);
    },
  };
}

/**
 * The console's Lambda handler (API Gateway HTTP API, payload 2.0): `GET`/`HEAD` of `/console` answers
 * the page and `/console/<file>` the built files; anything else under it is a 404. The page needs no API
 * key: it asks for one and calls the API itself.
 */
export function makeConsoleHandler(options: ConsoleHandlerOptions) {
  let loading: Promise<Map<string, Asset>> | undefined;
  const assets = () => {
    loading ??= loadAssets(options.assetsDir).catch((error: unknown) => {
      loading = undefined; // a build finished since is picked up by the next request
      throw error;
    });
    return loading;
  };

  return middy<APIGatewayProxyEventV2, ConsoleResponse>()
    .use(securityHeaders(options.logger))
    .handler(async (event) => {
      const method = event.requestContext.http.method.toUpperCase();
      const path = event.rawPath || event.requestContext.http.path;
      const match = /^(.*)\/console(?:\/(.*))?$/.exec(path);
      // Only the page itself and files directly under /console: no sub-directories, no encoded slashes.
      const name = match ? (match[2] === undefined ? 'index.html' : match[2]) : null;
      if (name === null || (name !== '' && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))) {
        return text(404, 'Not found.');
      }
      if (method !== 'GET' && method !== 'HEAD') {
        return text(405, 'Method not allowed.', { allow: 'GET, HEAD' });
      }
      if (name === '') {
        // `/console/` would resolve the page's relative asset URLs one level too deep.
        return {
          statusCode: 308,
          headers: { location: '../console', 'cache-control': 'no-cache' },
          body: '',
        };
      }
      let files: Map<string, Asset>;
      try {
        files = await assets();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        return text(503, 'The console is not built: run "npm run build" (npm ci runs it).');
      }
      const asset = files.get(name);
      if (!asset) return text(404, 'Not found.');
      return serve(asset, event, method === 'HEAD');
    });
}
