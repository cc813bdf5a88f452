import { describe, expect, it } from 'vitest';
import { advance, formatDuration, isFinished, renderProgress, type RunProgress } from '../../../recordings/domain/bulk';
import { checkUpload } from '../../../recordings/domain/upload-check';

describe('checkUpload', () => {
  const local = { size: 100, sha256: 'ab'.repeat(32), etags: ['0123456789abcdef0123456789abcdef'] };
  const remote = { size: 100, etag: '"0123456789ABCDEF0123456789ABCDEF"', metadata: { sha256: 'ab'.repeat(32) } };
  it('accepts the same size, sha256 and an ETag these bytes produce', () => {
    expect(checkUpload(local, remote)).toEqual({ ok: true });
  });
  it('refuses anything else, saying why', () => {
    expect(checkUpload(local, null)).toEqual({ ok: false, reason: 'the object is not in the store' });
    expect(checkUpload(local, { ...remote, size: 99 })).toEqual({ ok: false, reason: 'size 99 in the store, 100 here' });
    expect(checkUpload(local, { ...remote, metadata: {} })).toEqual({ ok: false, reason: 'sha256 metadata differs' });
    expect(checkUpload(local, { ...remote, etag: '"ffff"' })).toEqual({ ok: false, reason: 'ETag ffff does not match the content' });
    expect(checkUpload(local, { ...remote, etag: null })).toMatchObject({ ok: false });
  });
});

describe('bulk progress', () => {
  const c = (i: number) => ({ recordedAt: `2026-01-0${i}T00:00:00.000Z`, id: `id-${i}` });
  it('moves the cursor to the last item of a batch and counts failures', () => {
    let p: RunProgress = { total: 5, done: 0, failed: 0, cursor: null };
    p = advance(p, [
      { cursor: c(1), ok: true },
      { cursor: c(2), ok: false },
      { cursor: c(3), ok: true },
    ]);
    expect(p).toEqual({ total: 5, done: 2, failed: 1, cursor: c(3) });
    expect(isFinished(p)).toBe(false);
    expect(advance(p, [])).toBe(p);
    p = advance(p, [
      { cursor: c(4), ok: true },
      { cursor: c(5), ok: true },
    ]);
    expect(isFinished(p)).toBe(true);
  });
  it('renders a bar with the rate of this session and an ETA', () => {
    const line = renderProgress({ total: 1000, done: 447, failed: 3, cursor: null }, { items: 50, elapsedMs: 4000 }, 20);
    expect(line).toBe('[#########...........]  45% 450/1000  3 failed  12.5/s  ETA 0:44');
    expect(renderProgress({ total: 0, done: 0, failed: 0, cursor: null }, { items: 0, elapsedMs: 0 }, 4)).toBe('[####] 100% 0/0  0.0/s  ETA --:--');
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});
