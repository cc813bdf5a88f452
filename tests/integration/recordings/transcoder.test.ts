/**
 * The ffmpeg adapter's failure contract: bad input is RECORDING_CORRUPT (permanent); a tool
 * that cannot run is found at start-up, and any other tool fault is TRANSCODE_FAILED
 * (retried), never blamed on the recording.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FfmpegTranscoder, ffmpegFailure } from '../../../recordings/adapters/transcoder';
import { writeTestWav } from '../../helpers/wav';

const dir = mkdtempSync(join(tmpdir(), 'cp-tc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FfmpegTranscoder', () => {
  it('calls undecodable input corrupt', async () => {
    const text = join(dir, 'notes.mp3');
    writeFileSync(text, 'this is a text file with an audio extension');
    const t = new FfmpegTranscoder();
    await expect(t.probe(text)).rejects.toMatchObject({ code: 'RECORDING_CORRUPT' });
    await expect(t.transcode(text, [{ format: 'mp3', path: join(dir, 'o.mp3') }], { info: { durationSeconds: 1, channels: 2, sampleRate: 8000, codec: 'mp3' } })).rejects.toMatchObject({
      code: 'RECORDING_CORRUPT',
    });
  });

  it('says at start-up when ffmpeg is not there, instead of failing recordings later', async () => {
    await expect(new FfmpegTranscoder().check()).resolves.toBeUndefined();
    const broken = new FfmpegTranscoder({ ffmpegPath: join(dir, 'no-ffmpeg') });
    await expect(broken.check()).rejects.toMatchObject({ code: 'TRANSCODER_UNAVAILABLE', message: expect.stringContaining('FFMPEG_PATH') });
    await expect(broken.probe(join(dir, 'x.wav'))).rejects.toMatchObject({ code: 'TRANSCODER_UNAVAILABLE' });
  });

  it('blames the recording only when ffmpeg blames the input', () => {
    const corrupt = ffmpegFailure('x', new Error('ffmpeg exited with code 1: /spool/a.wav: Invalid data found when processing input\n'));
    expect(corrupt).toMatchObject({ code: 'RECORDING_CORRUPT', message: 'x: Invalid data found when processing input' });
    expect(ffmpegFailure('x', new Error('ffprobe exited with code 1\nffprobe version 5.1\n/spool/b.mp3: Invalid argument\n')).code).toBe('RECORDING_CORRUPT');
    for (const m of ['Output stream closed', 'process ran into a timeout (600s)', 'ffmpeg was killed with signal SIGKILL', 'Cannot find ffmpeg', 'spawn /x ENOENT']) {
      expect(ffmpegFailure('x', new Error(m)).code, m).toBe('TRANSCODE_FAILED');
    }
  });

  it('keeps duration, channels and rate, and measures from the decoded samples', async () => {
    const wav = join(dir, 'three.wav');
    await writeTestWav(wav, 3);
    const t = new FfmpegTranscoder();
    const r = await t.transcode(wav, [{ format: 'mp3', path: join(dir, 'three.mp3') }], { peaksBuckets: 30 });
    expect(r).toMatchObject({ durationSeconds: 3, channels: 2, sampleRate: 8000, peaks: { channels: 2, buckets: 30 } });
    expect(r.loudness.integratedLufs).toBeLessThan(-5);
    expect(r.gainDb).toBeCloseTo(-16 - r.loudness.integratedLufs!, 1);
  });
});
