import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['node_modules/**', 'web/dist/**'],
    // Integration tests share one Postgres and one Redis; each test isolates itself by
    // account id and key prefix, so files may run in parallel.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
  },
});
