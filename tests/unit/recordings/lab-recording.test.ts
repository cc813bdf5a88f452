/**
 * The lab's recording writer: the same audio as recordings/domain/wav.ts synthesizes (caller
 * left, manager right), of the requested length, complete as soon as the call returns.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectWav, synthesizeWav } from '../../../recordings/domain/wav';
import { writeLabRecording } from '../../lab/recording-writer';

const dir = mkdtempSync(join(tmpdir(), 'cp-labrec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the lab recording writer', () => {
  it('writes, before returning, a stereo 8 kHz WAV of the talk time, sample for sample the synthesized voices', () => {
    const path = join(dir, 'a/b/call.wav');
    void writeLabRecording(path, 9.3);
    const file = readFileSync(path);
    const check = inspectWav(file.subarray(0, 4096), file.length);
    expect(check).toEqual({
      ok: true,
      info: { formatTag: 1, channels: 2, sampleRate: 8000, bitsPerSample: 16, dataOffset: 44, dataBytes: 74_400 * 4, durationSeconds: 9.3 },
    });
    const want = Buffer.from(synthesizeWav({ seconds: 9.3 }));
    expect(file.length).toBe(want.length);
    expect(file.subarray(0, 44).equals(want.subarray(0, 44))).toBe(true);
    // The 4 s cycle repeats exactly but for float rounding of the time: at most 1 LSB apart.
    const a = new Int16Array(file.buffer, file.byteOffset + 44, (file.length - 44) / 2);
    const b = new Int16Array(want.buffer, want.byteOffset + 44, (want.length - 44) / 2);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThanOrEqual(1);
    expect(Math.max(...a.subarray(0, 16_000).filter((_, i) => i % 2 === 0))).toBeGreaterThan(10_000);
  });

  it('writes a header-only file for a call that was hung up the instant it was bridged', async () => {
    const path = join(dir, 'zero.wav');
    await writeLabRecording(path, 0);
    const file = readFileSync(path);
    expect(file.length).toBe(44);
    expect(inspectWav(file, file.length)).toMatchObject({ ok: false, code: 'RECORDING_EMPTY' });
  });
});
