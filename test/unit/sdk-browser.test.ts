import { createContext, runInContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as browser from '../../sdk/browser.js';
import * as sdk from '../../sdk/index.js';

describe('the browser SDK entry', () => {
  it('exports the client and its errors, and not the signing helpers', () => {
    // Assess
    expect(Object.keys(browser).sort()).toEqual(
      Object.keys(sdk)
        .filter(
          (name) =>
            ![
              'signWebhookPayload',
              'standardWebhookHeaders',
              'ApiKeysResource',
              'EntitiesResource',
              'ExecutionsResource',
              'JobsResource',
              'NotificationChannelsResource',
            ].includes(name),
        )
        .sort(),
    );
    // The Node client is the browser's, plus the IAM signer the browser cannot load.
    expect(Object.getPrototypeOf(sdk.ControlPlaneClient)).toBe(browser.ControlPlaneClient);
  });

  it('bundles for a browser: no Node builtin in what it imports', async () => {
    // Act: esbuild fails on a node: import when the platform is the browser
    const result = await build({
      entryPoints: ['sdk/browser.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });

    // Assess
    expect(Object.keys(result.metafile.inputs).sort()).toEqual([
      'sdk/api-keys.ts',
      'sdk/browser.ts',
      'sdk/client.ts',
      'sdk/entities.ts',
      'sdk/errors.ts',
      'sdk/executions.ts',
      'sdk/http.ts',
      'sdk/jobs.ts',
      'sdk/notification-channels.ts',
      'sdk/paging.ts',
    ]);
  });

  it('builds a client in a page, which has no process global', async () => {
    // Prepare: the browser bundle, run in a context with only what a page has
    const result = await build({
      entryPoints: ['sdk/browser.ts'],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'sdk',
      write: false,
      logLevel: 'silent',
    });
    const page = createContext({ URL, fetch, setTimeout, clearTimeout, AbortController, Headers, Response });
    runInContext(result.outputFiles[0]?.text ?? '', page);

    // Act
    const construct = () =>
      runInContext(
        "new sdk.ControlPlaneClient({ baseUrl: 'https://jobs.example.test', apiKey: 'sk_test' }) && typeof process",
        page,
      );

    // Assess
    expect(construct()).toBe('undefined');
  });

  it('calls fetch without a receiver, as a browser fetch requires', async () => {
    // Prepare: a browser's fetch throws "Illegal invocation" unless called on the window or on nothing
    const receivers: unknown[] = [];
    const strictFetch = function (this: unknown) {
      receivers.push(this);
      if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
      return Promise.resolve(new Response(JSON.stringify({ status: 'ok' }), { status: 200 }));
    } as unknown as typeof fetch;
    const client = new browser.ControlPlaneClient({
      baseUrl: 'https://jobs.example',
      apiKey: 'k',
      fetch: strictFetch,
    });

    // Act
    const health = await client.health();

    // Assess
    expect(health).toEqual({ status: 'ok' });
    expect(receivers).toEqual([undefined]);
  });
});
