import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/log-guard.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    pool: 'forks',
    // `npm test` measures coverage of the gateway's own code (`--coverage`); the floor is what
    // the suite reached when it was set, so a change that drops tested code fails the run.
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts', 'layers/**/*.ts', 'infra/**/*.ts'],
      reporter: ['text-summary'],
      // Measured at 80.9 / 69.7 / 81.3 / 82.8 % (75 files, 1,261 tests, 2026-11-30); the floor is
      // about a point lower, for the paths that depend on timing (retries, timeouts).
      thresholds: { statements: 80, branches: 68.5, functions: 80.5, lines: 82 },
    },
    // Metrics on in the local runtime under test, so the log guard reads them too.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', SMS_GATEWAY_LOCAL_METRICS: 'true' },
  },
});
