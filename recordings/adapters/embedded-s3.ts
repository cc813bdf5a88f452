/**
 * The embedded S3-API server (s3rver on a local folder), started when no S3 endpoint is
 * configured: `npm run demo`, a developer machine and the tests get the real S3 HTTP API
 * (multipart, ranges, metadata) without MinIO or Docker. With a real endpoint this is never
 * started and nothing else changes.
 *
 * s3rver does not verify request signatures; that is why playback never relies on S3
 * presigned URLs for access control (see domain/playback-link.ts).
 */
import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';
import type { Config } from '../../platform/config';

export interface EmbeddedS3 {
  endpoint: string;
  port: number;
  /** Stops listening and drops open connections (an idle keep-alive socket would hold close() forever). */
  close(): Promise<void>;
}

export async function startEmbeddedS3(
  config: Pick<Config, 's3'>,
  opts: { port?: number; directory?: string; host?: string } = {},
): Promise<EmbeddedS3> {
  const directory = opts.directory ?? config.s3.embeddedDir;
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: host,
    port: opts.port ?? config.s3.embeddedPort,
    directory,
    silent: true,
    configureBuckets: [{ name: config.s3.bucket }],
  });
  const addr = await server.run();
  return {
    endpoint: `http://${host}:${addr.port}`,
    port: addr.port,
    async close() {
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
    },
  };
}
