import { defineConfig } from 'vitest/config';

// One DynamoDB Local serves the whole run (started in globalSetup, always stopped in its teardown);
// integration and e2e files each create their own random table in it. The e2e files also get dist/ built
// once (the package as users run it).
// Node 20 is supported here; the SDK's notice that later releases will need Node 22 is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    globalSetup: ['test/support/dynamodb-local-setup.ts', 'test/support/build-setup.ts'],
    testTimeout: 30_000,
    // Two files at a time, even on two cores: most of an e2e file's time is spent waiting on child
    // processes, DynamoDB Local and Chromium, which run beside the worker that waits on them.
    maxWorkers: 2,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
      { extends: true, test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 180_000 } },
    ],
  },
});
