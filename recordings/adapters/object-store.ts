/**
 * Object storage behind a port: any S3-compatible store (AWS, MinIO, the embedded s3rver).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { LocalDigest, RemoteHead } from '../domain/upload-check';
import { AppError } from '../../platform/errors';

export interface PutOptions {
  contentType: string;
  /** Stored as x-amz-meta-*; keys lower-case. */
  metadata: Record<string, string>;
}

export interface ObjectRead {
  body: Readable;
  /** Size of the whole object. */
  size: number;
  /** Bytes in this response (the range's length for a ranged read). */
  length: number;
  contentType: string | null;
  etag: string | null;
}

/**
 * The object-store port. One bucket per instance.
 *
 * - Every method rejects with AppError `S3_UNAVAILABLE` when the store cannot be reached or
 *   answers 5xx/throttling (worth waiting for), `OBJECT_NOT_FOUND` for a missing key on
 *   `get`, and `S3_ERROR` for anything else the store refused (configuration, permissions).
 * - `put` uploads a local file; large files go up in parts. It resolves when the store has
 *   acknowledged the whole object; it does not verify it (use `head` and checkUpload).
 * - `head` resolves null for a missing key.
 * - `get` streams the object or one inclusive byte range of it. The caller must consume or
 *   destroy the body (an abandoned body holds a connection).
 * - `delete` is idempotent.
 */
export interface ObjectStore {
  readonly bucket: string;
  ensureBucket(): Promise<void>;
  put(key: string, filePath: string, opts: PutOptions): Promise<void>;
  head(key: string): Promise<RemoteHead | null>;
  get(key: string, range?: { start: number; end: number }): Promise<ObjectRead>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
}

export interface S3StoreOptions {
  endpoint: string | null;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Parts above this size go up as a multipart upload (S3's minimum part is 5 MiB). */
  partSize?: number;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly partSize: number;
  private readonly s3: S3Client;

  constructor(o: S3StoreOptions) {
    this.bucket = o.bucket;
    this.partSize = Math.max(5 * 1024 * 1024, o.partSize ?? DEFAULT_PART_SIZE);
    this.s3 = new S3Client({
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      region: o.region,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      // Path-style addressing works with every S3-compatible store; virtual hosts need DNS.
      forcePathStyle: true,
      // The SDK's default CRC trailers are not understood by every S3-compatible store; we
      // verify content ourselves (size, sha256 metadata, ETag) before deleting anything.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Fail fast: the job queue does the patient retrying, with backoff, across an outage.
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 60_000 },
    });
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (status(err) !== 404 && !/NotFound|NoSuchBucket/.test(name(err))) throw classify(err, `bucket ${this.bucket}`);
      try {
        await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
      } catch (e) {
        if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(name(e))) throw classify(e, `create bucket ${this.bucket}`);
      }
    }
  }

  async put(key: string, filePath: string, opts: PutOptions): Promise<void> {
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: createReadStream(filePath), ContentType: opts.contentType, Metadata: opts.metadata },
      partSize: this.partSize,
      queueSize: 4,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      throw classify(err, `put ${key}`);
    }
  }

  async head(key: string): Promise<RemoteHead | null> {
    try {
      const h = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: h.ContentLength ?? -1, etag: h.ETag ?? null, metadata: h.Metadata ?? {} };
    } catch (err) {
      if (status(err) === 404 || /NotFound|NoSuchKey/.test(name(err))) return null;
      throw classify(err, `head ${key}`);
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<ObjectRead> {
    try {
      const r = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      const length = r.ContentLength ?? 0;
      const total = r.ContentRange ? Number(r.ContentRange.split('/')[1]) : length;
      return { body: r.Body as Readable, size: total, length, contentType: r.ContentType ?? null, etag: r.ETag ?? null };
    } catch (err) {
      if (status(err) === 404 || /NoSuchKey|NotFound/.test(name(err))) {
        throw new AppError('OBJECT_NOT_FOUND', `no object ${key}`, { status: 404, cause: err });
      }
      throw classify(err, `get ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (status(err) === 404) return;
      throw classify(err, `delete ${key}`);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw classify(err, `list ${prefix}`);
    }
    return keys;
  }

  destroy(): void {
    this.s3.destroy();
  }
}

/**
 * Size, sha256, and every ETag an S3-compatible store may report for the file uploaded in
 * parts of `partSize` (the plain MD5, and S3's multipart form), in one read of the file.
 */
export async function fileDigest(path: string, partSize: number): Promise<LocalDigest> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  const partMd5s: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    sha.update(chunk);
    md5.update(chunk);
    size += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(partSize - inPart, chunk.length - at);
      part.update(chunk.subarray(at, at + take));
      inPart += take;
      at += take;
      if (inPart === partSize) {
        partMd5s.push(part.digest());
        part = createHash('md5');
        inPart = 0;
      }
    }
  }
  if (inPart > 0) partMd5s.push(part.digest());
  const whole = md5.digest('hex');
  const etags = [whole];
  if (partMd5s.length > 1) etags.push(`${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}`);
  return { size, sha256: sha.digest('hex'), etags };
}

const status = (err: unknown): number | undefined => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const name = (err: unknown): string => `${(err as Error)?.name ?? ''} ${(err as { Code?: string })?.Code ?? ''}`;

const NETWORK = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up|TimeoutError|RequestTimeout|aborted/i;

/** Map an SDK error to our codes: is it worth waiting for the store, or is it a refusal? */
export function classify(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  const st = status(err);
  const code = (err as { code?: string })?.code ?? '';
  const msg = String((err as Error)?.message ?? err);
  const unavailable =
    (st !== undefined && (st >= 500 || st === 429)) ||
    /SlowDown|ServiceUnavailable|InternalError|Throttl/.test(name(err)) ||
    NETWORK.test(`${code} ${name(err)} ${msg}`) ||
    (st === undefined && (err as { $retryable?: unknown })?.$retryable !== undefined);
  return new AppError(unavailable ? 'S3_UNAVAILABLE' : 'S3_ERROR', `${what}: ${msg.split('\n')[0]}`, { status: 503, cause: err });
}
