import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_SECURITY_HEADERS, makeConsoleHandler } from '../../shared/handlers/console-handler.js';
import type { Logger } from '../../shared/ports.js';
import { apiEvent, lambdaContext } from '../support/api-events.js';

/** A built console in a temp dir, and beside it a file no request may reach. */
let root: string;
let assetsDir: string;
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'console-assets-'));
  assetsDir = join(root, 'console');
  await mkdir(join(assetsDir, 'nested'), { recursive: true });
  await writeFile(join(root, 'secret.txt'), 'not for the web');
  await writeFile(join(assetsDir, 'nested', 'inner.js'), 'inner');
  await writeFile(join(assetsDir, 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(assetsDir, 'app-ABCD1234.js'), SCRIPT);
  await writeFile(join(assetsDir, 'app-ABCD1234.css'), 'body{color:red}');
  await writeFile(join(assetsDir, 'notes.md'), 'not a served type');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const handler = () => makeConsoleHandler({ assetsDir });
const call = (h: ReturnType<typeof makeConsoleHandler>, method: string, path: string, headers = {}) =>
  h(apiEvent({ method, path, headers }), lambdaContext());
const body = (response: { body?: string; isBase64Encoded?: boolean }) =>
  Buffer.from(response.body ?? '', response.isBase64Encoded ? 'base64' : 'utf8');

describe('makeConsoleHandler', () => {
  it('answers GET /console with the page, never cached without revalidation, with the security headers', async () => {
    // Act
    const response = await call(handler(), 'GET', '/console');

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      ...CONSOLE_SECURITY_HEADERS,
    });
    expect(body(response).toString()).toBe('<!doctype html><title>console</title>');
  });

  it('sends the strict policy: own origin only, no inline script, no framing, no <base>', () => {
    // Assess
    expect(CONSOLE_SECURITY_HEADERS).toEqual({
      'content-security-policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  });

  it('serves hashed assets with their content type, cacheable for a year', async () => {
    // Act
    const script = await call(handler(), 'GET', '/console/app-ABCD1234.js');
    const style = await call(handler(), 'GET', '/console/app-ABCD1234.css');

    // Assess
    expect(script.statusCode).toBe(200);
    expect(script.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      ...CONSOLE_SECURITY_HEADERS,
    });
    expect(body(script).toString()).toBe(SCRIPT);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(body(style).toString()).toBe('body{color:red}');
  });

  it('compresses larger files for clients that accept gzip, and says it varies on that', async () => {
    // Act
    const response = await call(handler(), 'GET', '/console/app-ABCD1234.js', {
      'accept-encoding': 'gzip, br',
    });

    // Assess
    expect(response.headers).toMatchObject({ 'content-encoding': 'gzip', vary: 'accept-encoding' });
    expect(gunzipSync(body(response)).toString()).toBe(SCRIPT);
    expect(Number(response.headers['content-length'])).toBe(body(response).length);
  });

  it('answers HEAD as GET without the body, with the length of the body left out', async () => {
    // Act
    const response = await call(handler(), 'HEAD', '/console/app-ABCD1234.js');

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('');
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(SCRIPT)));
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it.each([
    '/console/missing.js',
    '/console/../secret.txt',
    '/console/..%2fsecret.txt',
    '/console/%2e%2e%2fsecret.txt',
    '/console/nested/inner.js',
    '/console/nested',
    '/console/notes.md',
    '/console/.hidden',
    '/consolex',
    '/jobs',
  ])('answers 404 for %s, with the security headers', async (path) => {
    // Act
    const response = await call(handler(), 'GET', path);

    // Assess
    expect(response.statusCode).toBe(404);
    expect(response.headers).toMatchObject(CONSOLE_SECURITY_HEADERS);
    expect(body(response).toString()).not.toContain('not for the web');
  });

  it('refuses other methods with 405 and Allow', async () => {
    // Act
    const response = await call(handler(), 'POST', '/console');

    // Assess
    expect(response.statusCode).toBe(405);
    expect(response.headers).toMatchObject({ allow: 'GET, HEAD', ...CONSOLE_SECURITY_HEADERS });
  });

  it('sends /console/ to /console, relative so a stage prefix is kept', async () => {
    // Act
    const response = await call(handler(), 'GET', '/console/');

    // Assess
    expect(response.statusCode).toBe(308);
    expect(response.headers).toMatchObject({ location: '../console', ...CONSOLE_SECURITY_HEADERS });
    expect(new URL(response.headers.location as string, 'https://api.example/prod/console/').pathname).toBe(
      '/prod/console',
    );
  });

  it('serves under a stage prefix (/prod/console)', async () => {
    // Act
    const response = await call(handler(), 'GET', '/prod/console/app-ABCD1234.css');

    // Assess
    expect(response.statusCode).toBe(200);
  });

  it('says the console is not built (503) when the assets directory is missing', async () => {
    // Prepare
    const missing = makeConsoleHandler({ assetsDir: join(root, 'no-such-dir') });

    // Act
    const response = await call(missing, 'GET', '/console');

    // Assess
    expect(response.statusCode).toBe(503);
    expect(body(response).toString()).toContain('npm run build');
    expect(response.headers).toMatchObject(CONSOLE_SECURITY_HEADERS);
  });

  it('answers an opaque 500 with the security headers, and logs the failure', async () => {
    // Prepare: a file where the directory should be
    const logged: unknown[] = [];
    const logger = { error: (...args: unknown[]) => logged.push(args) } as unknown as Logger;
    const broken = makeConsoleHandler({ assetsDir: join(root, 'secret.txt'), logger });

    // Act
    const response = await call(broken, 'GET', '/console');

    // Assess
    expect(response.statusCode).toBe(500);
    expect(body(response).toString()).toBe('Internal server error.\n');
    expect(response.headers).toMatchObject(CONSOLE_SECURITY_HEADERS);
    expect(logged).toHaveLength(1);
  });
});
