import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureLocalApiKey } from '../../infra/local/api-key.js';
import { deleteLocalTable } from '../support/local-runtime.js';
import {
  call,
  cleanUpMainProcesses,
  DEFAULT_ENTITY_BODY,
  expectNoJava,
  JOB_BODY,
  javaDescendantsOf,
  javaUsing,
  spawnMain,
  startMain,
  tempDir,
} from '../support/main-process.js';

afterAll(cleanUpMainProcesses);

describe('ensureLocalApiKey', () => {
  it('creates the key in a 0700 dir with mode 0600, then returns the same key', async () => {
    // Prepare
    const dataDir = join(await tempDir(), 'nested', 'data');

    // Act
    const first = await ensureLocalApiKey(dataDir);
    const second = await ensureLocalApiKey(dataDir);

    // Assess
    expect(first).toEqual({ key: expect.stringMatching(/^sjk_[\w-]{43}$/), created: true });
    expect(second).toEqual({ key: first.key, created: false });
    expect((await readFile(join(dataDir, 'api-key'), 'utf8')).trim()).toBe(first.key);
    expect((await stat(join(dataDir, 'api-key'))).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });

  it('reads a key surrounded by whitespace and replaces an empty file', async () => {
    const withKey = await tempDir();
    const empty = await tempDir();
    await writeFile(join(withKey, 'api-key'), '  sjk_existing \n');
    await writeFile(join(empty, 'api-key'), '\n', { mode: 0o644 });

    expect(await ensureLocalApiKey(withKey)).toEqual({ key: 'sjk_existing', created: false });
    const replaced = await ensureLocalApiKey(empty);
    expect(replaced.created).toBe(true);
    expect((await readFile(join(empty, 'api-key'), 'utf8')).trim()).toBe(replaced.key);
    expect((await stat(join(empty, 'api-key'))).mode & 0o777).toBe(0o600);
  });
});

describe('npm start (infra/local/main.ts) with its own DynamoDB Local', () => {
  // The tests share one data dir and run in order: the second starts where the first stopped.
  let dataDir: string;
  let firstKey: string;
  let jobId: string;

  beforeAll(async () => {
    dataDir = await tempDir();
  });

  it('prints the URL and key, serves the API with that key, and stops java on SIGINT', {
    timeout: 120_000,
  }, async () => {
    // Prepare
    const main = await startMain({ JOBS_DATA_DIR: dataDir });
    const keyFile = (await readFile(join(dataDir, 'api-key'), 'utf8')).trim();
    expect(javaUsing(dataDir)).toHaveLength(1);

    // Act
    const health = await call(`${main.url}/health`);
    const anonymous = await call(`${main.url}/jobs`);
    const withBannerKey = await call(`${main.url}/jobs`, { apiKey: main.apiKey });
    const withFileKey = await call(`${main.url}/jobs`, { apiKey: keyFile });
    await call(`${main.url}/entities`, { method: 'POST', apiKey: main.apiKey, body: DEFAULT_ENTITY_BODY });
    const created = await call(`${main.url}/jobs`, { method: 'POST', apiKey: main.apiKey, body: JOB_BODY });
    const exitCode = await main.stop('SIGINT');

    // Assess
    expect(main.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(main.apiKey).toMatch(/^sjk_/);
    expect(keyFile).toBe(main.apiKey);
    expect(main.output()).toContain(`curl -H "Authorization: Bearer ${main.apiKey}" ${main.url}/jobs`);
    expect(health.status).toBe(200);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).error.code).toBe('unauthorized');
    expect(withBannerKey.status).toBe(200);
    expect(withFileKey.status).toBe(200);
    expect(created.status, created.body).toBe(201);
    expect(exitCode, main.output()).toBe(0);
    await expectNoJava(() => javaUsing(dataDir));
    firstKey = main.apiKey;
    jobId = JSON.parse(created.body).id;
  });

  it('a second start on the same data dir keeps the key and the jobs', { timeout: 120_000 }, async () => {
    const main = await startMain({ JOBS_DATA_DIR: dataDir });

    const job = await call(`${main.url}/jobs/${jobId}`, { apiKey: firstKey });
    const exitCode = await main.stop('SIGTERM');

    expect(main.apiKey).toBe(firstKey);
    expect(job.status, job.body).toBe(200);
    expect(JSON.parse(job.body)).toMatchObject({
      id: jobId,
      name: 'Daily Health Check',
      trigger_type: 'manual',
    });
    expect(exitCode, main.output()).toBe(0);
    await expectNoJava(() => javaUsing(dataDir));
  });

  it('fails with a clear message and stops its java when the port is taken', {
    timeout: 120_000,
  }, async () => {
    // Prepare: a server holding a port
    const holder = await startMain({ JOBS_DATA_DIR: dataDir });
    const port = new URL(holder.url).port;
    const otherDataDir = await tempDir();

    // Act
    const second = spawnMain({ JOBS_DATA_DIR: otherDataDir, PORT: port });
    const exitCode = await second.exited;
    await holder.stop();

    // Assess: it got as far as starting java, then cleaned up after itself
    expect(exitCode, second.output()).toBe(1);
    expect(second.output()).toMatch(/port is taken/i);
    await expectNoJava(() => javaUsing(otherDataDir));
    await expectNoJava(() => javaUsing(dataDir));
  });
});

describe('npm start with JOBS_DYNAMODB_ENDPOINT', () => {
  const endpoint = inject('dynamodbEndpoint');
  const tableName = `e2e-main-${randomBytes(6).toString('hex')}`;

  afterAll(async () => {
    try {
      await deleteLocalTable(endpoint, tableName);
    } catch {
      // The test failed before creating it.
    }
  });

  it('uses that DynamoDB and starts no java of its own', { timeout: 120_000 }, async () => {
    const dataDir = await tempDir();
    const main = await startMain({
      JOBS_DATA_DIR: dataDir,
      JOBS_DYNAMODB_ENDPOINT: endpoint,
      JOBS_TABLE_NAME: tableName,
    });

    const ownJava = javaDescendantsOf(main.child.pid ?? -1);
    await call(`${main.url}/entities`, { method: 'POST', apiKey: main.apiKey, body: DEFAULT_ENTITY_BODY });
    const created = await call(`${main.url}/jobs`, { method: 'POST', apiKey: main.apiKey, body: JOB_BODY });
    const consoleResponse = await fetch(`${main.url}/console`);
    const consolePage = {
      status: consoleResponse.status,
      contentType: consoleResponse.headers.get('content-type'),
      body: await consoleResponse.text(),
    };
    const exitCode = await main.stop('SIGINT');

    expect(ownJava).toEqual([]);
    expect(main.output()).toContain(endpoint);
    // Local agents listen on this machine: the banner says loopback targets are allowed.
    expect(main.output()).toMatch(
      /^ {2}Targets {3}http targets may reach public and loopback addresses \(allowedTargetNetworks in jobs\.config\.json\)$/m,
    );
    // The console's address is printed next to the key, and it serves the page.
    expect(main.output()).toContain(`  Console   ${main.url}/console  (sign in with the API key below)`);
    expect(consolePage.status).toBe(200);
    expect(consolePage.contentType).toBe('text/html; charset=utf-8');
    expect(consolePage.body).toMatch(/<script type="module" src="console\/app-[A-Z0-9]{8}\.js"><\/script>/);
    expect(created.status, created.body).toBe(201);
    expect(exitCode, main.output()).toBe(0);
  });
});
