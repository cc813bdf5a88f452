/**
 * Waveform peaks for the player, computed once when the recording is processed so the
 * journal page never decodes audio: per channel, the largest absolute sample in each of
 * `buckets` equal slices of the call, as a fraction of full scale (0..1).
 *
 * The reducer is streaming: it takes signed 16-bit little-endian interleaved PCM in chunks
 * of any size (a decoder's pipe splits frames anywhere), keeps one maximum per 10 ms window,
 * and folds the windows into buckets at the end, so the total length need not be known in
 * advance and an hour-long call costs ~360k numbers per channel, not its samples.
 */
export interface Peaks {
  channels: number;
  /** Number of values per channel (at most the requested count; fewer for very short calls). */
  buckets: number;
  /** data[channel][bucket], 0..1, three decimals. */
  data: number[][];
}

export class PeaksReducer {
  private readonly windowFrames: number;
  private readonly windows: number[][];
  private readonly current: number[];
  private framesInWindow = 0;
  private carry: Uint8Array = new Uint8Array(0);

  constructor(
    readonly channels: number,
    sampleRate: number,
  ) {
    if (!Number.isInteger(channels) || channels < 1) throw new RangeError('channels must be a positive integer');
    if (!(sampleRate > 0)) throw new RangeError('sampleRate must be positive');
    this.windowFrames = Math.max(1, Math.round(sampleRate / 100));
    this.windows = Array.from({ length: channels }, () => []);
    this.current = new Array<number>(channels).fill(0);
  }

  push(chunk: Uint8Array): void {
    const frameBytes = 2 * this.channels;
    let buf = chunk;
    if (this.carry.length > 0) {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry);
      buf.set(chunk, this.carry.length);
    }
    const whole = buf.length - (buf.length % frameBytes);
    for (let off = 0; off < whole; off += frameBytes) {
      for (let c = 0; c < this.channels; c++) {
        const i = off + 2 * c;
        const v = (((buf[i]! | (buf[i + 1]! << 8)) << 16) >> 16) as number;
        const a = v < 0 ? -v : v;
        if (a > this.current[c]!) this.current[c] = a;
      }
      if (++this.framesInWindow === this.windowFrames) this.closeWindow();
    }
    this.carry = buf.slice(whole);
  }

  private closeWindow(): void {
    for (let c = 0; c < this.channels; c++) {
      this.windows[c]!.push(this.current[c]!);
      this.current[c] = 0;
    }
    this.framesInWindow = 0;
  }

  /** The peaks in at most `buckets` slices. The reducer can not be used afterwards. */
  finish(buckets: number): Peaks {
    if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError('buckets must be a positive integer');
    if (this.framesInWindow > 0) this.closeWindow();
    const w = this.windows[0]!.length;
    const n = Math.min(buckets, w);
    const data = this.windows.map((wins) => {
      const out = new Array<number>(n);
      for (let b = 0; b < n; b++) {
        const from = Math.floor((b * w) / n);
        const to = Math.floor(((b + 1) * w) / n);
        let m = 0;
        for (let i = from; i < to; i++) if (wins[i]! > m) m = wins[i]!;
        out[b] = round3(Math.min(1, m / 32768));
      }
      return out;
    });
    return { channels: this.channels, buckets: n, data };
  }
}

/** Peaks of samples already in memory (interleaved). */
export function peaksOf(samples: Int16Array, channels: number, sampleRate: number, buckets: number): Peaks {
  const r = new PeaksReducer(channels, sampleRate);
  r.push(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  return r.finish(buckets);
}

/** The peaks after a linear gain, clipped at full scale (what the listener will see). */
export function scalePeaks(p: Peaks, gainDb: number): Peaks {
  const k = 10 ** (gainDb / 20);
  return { ...p, data: p.data.map((ch) => ch.map((v) => round3(Math.min(1, v * k)))) };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
