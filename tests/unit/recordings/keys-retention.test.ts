import { describe, expect, it } from 'vitest';
import { recordingKey } from '../../../recordings/domain/keys';
import { isExpired, retentionCutoffMs } from '../../../recordings/domain/retention';
import { callStartedAt, isOutage, isPermanentFailure, retryDelayMs } from '../../../recordings/domain/job';

const acct = '6f1c2a9e-1b2c-4d3e-8f4a-5b6c7d8e9f01';

describe('recordingKey', () => {
  it('is <account>/<yyyy>/<mm>/<dd>/<call>.<ext> on the UTC date of the start', () => {
    expect(recordingKey({ accountId: acct, callId: 'c-1', startedAtMs: Date.parse('2026-03-09T23:59:59.999Z'), format: 'mp3' })).toBe(
      `${acct}/2026/03/09/c-1.mp3`,
    );
    // 02:30 in Moscow on the 10th is still the 9th in UTC.
    expect(recordingKey({ accountId: acct, callId: 'c-1', startedAtMs: Date.parse('2026-03-10T02:30:00+03:00'), format: 'opus' })).toBe(
      `${acct}/2026/03/09/c-1.opus`,
    );
  });

  it('refuses call ids that could escape their key segment', () => {
    for (const callId of ['../x', 'a/b', '', '.hidden', 'x'.repeat(65)]) {
      expect(() => recordingKey({ accountId: acct, callId, startedAtMs: 0, format: 'mp3' }), callId).toThrow();
    }
    expect(() => recordingKey({ accountId: 'not-a-uuid', callId: 'c', startedAtMs: 0, format: 'mp3' })).toThrow();
  });
});

describe('retention', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it('expires what was recorded more than N days ago, not what is exactly N days old', () => {
    expect(retentionCutoffMs(now, 30)).toBe(Date.parse('2026-10-24T12:00:00Z'));
    expect(isExpired(Date.parse('2026-10-24T11:59:59Z'), 30, now)).toBe(true);
    expect(isExpired(Date.parse('2026-10-24T12:00:00Z'), 30, now)).toBe(false);
    expect(() => retentionCutoffMs(now, 0)).toThrow(RangeError);
  });
});

describe('job policy', () => {
  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(a, 1000, 10_000))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(retryDelayMs(500, 1000, 60_000)).toBe(60_000);
  });
  it('never retries bad input, waits out store outages', () => {
    expect(['RECORDING_MISSING', 'RECORDING_EMPTY', 'RECORDING_CORRUPT'].every(isPermanentFailure)).toBe(true);
    expect(isPermanentFailure('S3_UNAVAILABLE')).toBe(false);
    expect(isPermanentFailure('TRANSCODE_FAILED')).toBe(false);
    expect(isOutage('S3_UNAVAILABLE')).toBe(true);
    expect(isOutage('UPLOAD_VERIFY_FAILED')).toBe(false);
  });
  it('dates a call by its start: the hangup minus the duration', () => {
    expect(callStartedAt({ ts: '2026-11-01T00:01:00.000Z', durationSeconds: 95.5 })).toBe('2026-10-31T23:59:24.500Z');
  });
});
