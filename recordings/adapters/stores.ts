/**
 * The object stores of a process: one client per bucket on the configured endpoint, or on
 * the embedded S3-API server when none is configured (started here, stopped by close()).
 */
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import { startEmbeddedS3, type EmbeddedS3 } from './embedded-s3';
import { S3ObjectStore } from './object-store';

export interface Stores {
  endpoint: string;
  /** The configured bucket's store (created if missing). */
  main: S3ObjectStore;
  storeFor(bucket: string): S3ObjectStore;
  close(): Promise<void>;
}

export async function openStores(config: Pick<Config, 's3'>, logger?: Logger): Promise<Stores> {
  let embedded: EmbeddedS3 | null = null;
  if (!config.s3.endpoint) {
    embedded = await startEmbeddedS3(config);
    logger?.info({ endpoint: embedded.endpoint, dir: config.s3.embeddedDir }, 'embedded S3-API server started (no S3_ENDPOINT configured)');
  }
  const endpoint = config.s3.endpoint ?? embedded!.endpoint;
  const clients = new Map<string, S3ObjectStore>();
  const storeFor = (bucket: string): S3ObjectStore => {
    let s = clients.get(bucket);
    if (!s) {
      s = new S3ObjectStore({ ...config.s3, endpoint, bucket });
      clients.set(bucket, s);
    }
    return s;
  };
  const main = storeFor(config.s3.bucket);
  try {
    await main.ensureBucket();
  } catch (err) {
    await embedded?.close();
    throw err;
  }
  return {
    endpoint,
    main,
    storeFor,
    async close() {
      for (const s of clients.values()) s.destroy();
      await embedded?.close();
    },
  };
}
