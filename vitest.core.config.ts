import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/**
 * The core-only subset (`npm run test:core`): domain logic and the HTTP edge with fakes of
 * their ports. No DynamoDB Local, no local SQS, no synthesis: it runs in seconds.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/core/**/*.test.ts', 'test/http/**/*.test.ts'],
    globalSetup: [],
  },
});
