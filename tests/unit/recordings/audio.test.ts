import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loudnessGainDb } from '../../../recordings/domain/loudness';
import { PeaksReducer, peaksOf, scalePeaks } from '../../../recordings/domain/peaks';
import { inspectWav, synthesizeWav, wavHeader } from '../../../recordings/domain/wav';
import { parseEbur128 } from '../../../recordings/adapters/transcoder';

describe('peaks', () => {
  it('gives, per channel and bucket, the largest absolute sample as a fraction of full scale', () => {
    // 1 s of 8 kHz stereo: left is silent then full scale, right is a constant -8192.
    const s = new Int16Array(8000 * 2);
    for (let i = 0; i < 8000; i++) {
      s[2 * i] = i < 4000 ? 0 : i % 2 ? 32767 : -32768;
      s[2 * i + 1] = -8192;
    }
    const p = peaksOf(s, 2, 8000, 4);
    expect(p).toEqual({ channels: 2, buckets: 4, data: [[0, 0, 1, 1], [0.25, 0.25, 0.25, 0.25]] });
  });

  it('does not depend on how the stream was chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 2, maxLength: 3000 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1 }), (samples, cuts) => {
        const pcm = new Int16Array(samples.length - (samples.length % 2));
        pcm.set(samples.slice(0, pcm.length));
        const bytes = new Uint8Array(pcm.buffer);
        const whole = peaksOf(pcm, 2, 800, 7);
        const r = new PeaksReducer(2, 800);
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const n = cuts[i % cuts.length]!;
          r.push(bytes.subarray(at, at + n));
          at += n;
        }
        expect(r.finish(7)).toEqual(whole);
      }),
    );
  });

  it('returns fewer buckets than asked for a very short call, and scales by a gain', () => {
    const p = peaksOf(new Int16Array([16384, 16384, 16384, 16384]), 2, 8000, 1000);
    expect(p.buckets).toBe(1);
    expect(scalePeaks(p, 6.0206).data).toEqual([[1], [1]]);
    expect(scalePeaks(p, -6.0206).data).toEqual([[0.25], [0.25]]);
  });
});

describe('loudness gain', () => {
  it('brings speech to -16 LUFS unless the peak ceiling stops it first', () => {
    expect(loudnessGainDb({ integratedLufs: -26, samplePeakDbfs: -20 })).toBe(10);
    expect(loudnessGainDb({ integratedLufs: -26, samplePeakDbfs: -6 })).toBe(4.5);
    expect(loudnessGainDb({ integratedLufs: -10, samplePeakDbfs: -1 })).toBe(-6);
  });
  it('leaves silence alone and never boosts by more than 24 dB', () => {
    expect(loudnessGainDb({ integratedLufs: null, samplePeakDbfs: null })).toBe(0);
    expect(loudnessGainDb({ integratedLufs: -70, samplePeakDbfs: -60 })).toBe(0);
    expect(loudnessGainDb({ integratedLufs: -60, samplePeakDbfs: -50 })).toBe(24);
  });
  it('reads the measurement from ffmpeg ebur128 output', () => {
    const log = [
      '[Parsed_ebur128_0 @ 0x1] Summary:',
      '',
      '  Integrated loudness:',
      '    I:         -18.5 LUFS',
      '    Threshold: -28.5 LUFS',
      '',
      '  Sample peak:',
      '    Peak:      -18.1 dBFS',
    ];
    expect(parseEbur128(log)).toEqual({ integratedLufs: -18.5, samplePeakDbfs: -18.1 });
    expect(parseEbur128(['nothing'])).toEqual({ integratedLufs: null, samplePeakDbfs: null });
    expect(parseEbur128(log.map((l) => l.replace('-18.5', '-inf')))).toEqual({ integratedLufs: null, samplePeakDbfs: -18.1 });
  });
});

describe('WAV', () => {
  const wav = synthesizeWav({ seconds: 2 });

  it('synthesises 8 kHz 16-bit stereo with a different tone per channel, voices taking turns', () => {
    expect(wav.length).toBe(44 + 2 * 8000 * 2 * 2);
    const check = inspectWav(wav.subarray(0, 4096), wav.length);
    expect(check).toEqual({
      ok: true,
      info: { formatTag: 1, channels: 2, sampleRate: 8000, bitsPerSample: 16, dataOffset: 44, dataBytes: 64_000, durationSeconds: 2 },
    });
    const pcm = new Int16Array(wav.buffer.slice(44));
    const p = peaksOf(pcm, 2, 8000, 2);
    // First second: left speaks, right is quiet; the peaks say so.
    expect(p.data[0]![0]).toBeGreaterThan(0.4);
    expect(p.data[1]![0]).toBeLessThan(0.05);
    // Different tones: zero crossings in the first 100 ms differ (440 vs 660 Hz).
    const crossings = (c: number) => {
      let n = 0;
      for (let i = 1; i < 800; i++) if (pcm[2 * i + c]! < 0 !== pcm[2 * (i - 1) + c]! < 0) n++;
      return n;
    };
    expect(crossings(0)).toBeGreaterThanOrEqual(86);
    expect(crossings(0)).toBeLessThanOrEqual(90);
    expect(crossings(1)).toBeGreaterThanOrEqual(130);
    expect(crossings(1)).toBeLessThanOrEqual(134);
  });

  it('tells empty files from corrupt ones', () => {
    expect(inspectWav(new Uint8Array(0), 0)).toMatchObject({ ok: false, code: 'RECORDING_EMPTY' });
    expect(inspectWav(wavHeader({ channels: 2, sampleRate: 8000, frames: 0 }), 44)).toMatchObject({ ok: false, code: 'RECORDING_EMPTY' });
    expect(inspectWav(new TextEncoder().encode('ID3\x03garbage garbage'), 20)).toMatchObject({ ok: false, code: 'RECORDING_CORRUPT' });
    const badRate = wav.slice(0, 44);
    new DataView(badRate.buffer).setUint32(24, 7, true);
    expect(inspectWav(badRate, wav.length)).toMatchObject({ ok: false, code: 'RECORDING_CORRUPT', reason: 'implausible sample rate 7' });
    expect(inspectWav(wav.slice(0, 30), 30)).toMatchObject({ ok: false, code: 'RECORDING_CORRUPT' });
  });

  it('believes the disk over a header the recorder never finalised', () => {
    const h = wav.slice(0, 44);
    new DataView(h.buffer).setUint32(40, 0, true);
    expect(inspectWav(h, wav.length)).toMatchObject({ ok: true, info: { dataBytes: 64_000, durationSeconds: 2 } });
    new DataView(h.buffer).setUint32(40, 0xffffffff, true);
    expect(inspectWav(h, 44 + 8001 * 4 + 3)).toMatchObject({ ok: true, info: { dataBytes: 8001 * 4 } });
    // A header that claims more than was written (the recorder was killed): what is there counts.
    expect(inspectWav(wav.slice(0, 44), 44 + 16_000)).toMatchObject({ ok: true, info: { durationSeconds: 0.5 } });
  });
});
