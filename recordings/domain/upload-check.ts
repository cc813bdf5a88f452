/**
 * Is the object in the store the file we hold? Decided before the local file is deleted, so a
 * half-written or swapped object never costs us the only copy.
 *
 * - the size must match;
 * - the sha256 we attached as metadata must come back unchanged;
 * - the store's ETag must be one the bytes we sent would produce: the MD5 of the object
 *   (single PUT; also what s3rver reports for multipart), or S3's multipart form
 *   `md5(md5(part1)..md5(partN))-N`. This is the check on the content itself: the store
 *   computed it from what it received. (Stores with SSE-KMS report other ETags; they would
 *   fail here loudly, never delete silently.)
 */
export interface LocalDigest {
  size: number;
  sha256: string;
  /** Every ETag the store may legitimately report for these bytes. */
  etags: readonly string[];
}

export interface RemoteHead {
  size: number;
  etag: string | null;
  metadata: Readonly<Record<string, string>>;
}

export type UploadCheck = { ok: true } | { ok: false; reason: string };

export function checkUpload(local: LocalDigest, remote: RemoteHead | null): UploadCheck {
  if (!remote) return { ok: false, reason: 'the object is not in the store' };
  if (remote.size !== local.size) return { ok: false, reason: `size ${remote.size} in the store, ${local.size} here` };
  if ((remote.metadata.sha256 ?? '').toLowerCase() !== local.sha256.toLowerCase()) return { ok: false, reason: 'sha256 metadata differs' };
  const etag = (remote.etag ?? '').replace(/"/g, '').toLowerCase();
  if (!local.etags.map((e) => e.toLowerCase()).includes(etag)) return { ok: false, reason: `ETag ${etag || '(none)'} does not match the content` };
  return { ok: true };
}
