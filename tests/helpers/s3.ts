/**
 * An embedded S3-API server (s3rver) per test file: its own folder and an ephemeral port,
 * with the bucket created. `stop()` and `start()` take it down and bring it back on the
 * same port and folder (what an outage and recovery look like to the pipeline).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedS3, type EmbeddedS3 } from '../../recordings/adapters/embedded-s3';
import type { Config } from '../../platform/config';
import { testConfig } from './index';

export interface TestS3 {
  endpoint: string;
  port: number;
  dir: string;
  bucket: string;
  /** Environment overrides pointing a config at this server. */
  env: Record<string, string>;
  config(overrides?: Record<string, string>): Config;
  running(): boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop and remove the folder. */
  close(): Promise<void>;
}

export async function startTestS3(bucket = 'recordings'): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), 'cp-s3-'));
  const base = testConfig({ S3_BUCKET: bucket });
  let server: EmbeddedS3 | null = await startEmbeddedS3(base, { port: 0, directory: dir });
  const port = server.port;
  const endpoint = server.endpoint;
  const env = { S3_ENDPOINT: endpoint, S3_BUCKET: bucket };
  return {
    endpoint,
    port,
    dir,
    bucket,
    env,
    config: (overrides = {}) => testConfig({ ...env, ...overrides }),
    running: () => server !== null,
    async stop() {
      await server?.close();
      server = null;
    },
    async start() {
      if (!server) server = await startEmbeddedS3(base, { port, directory: dir });
    },
    async close() {
      await server?.close();
      server = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
