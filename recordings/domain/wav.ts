/**
 * WAV (RIFF) for the recordings FreeSWITCH's `record_session` leaves: 16-bit PCM, usually
 * 8 kHz stereo (caller left, manager right).
 *
 * - `inspectWav` reads a header and says whether the file is usable, and if not, why, in the
 *   pipeline's failure codes. A recorder that died mid-call leaves a header whose sizes were
 *   never filled in (0 or 0xFFFFFFFF): what is actually on disk counts, not the header.
 * - `synthesizeWav` writes a deterministic two-voice test recording: a different tone per
 *   channel, each with a syllable-like envelope, the voices taking turns. The switch lab
 *   writes these where FreeSWITCH would.
 */
export interface WavInfo {
  /** 1 = PCM, 3 = IEEE float, 0xFFFE = extensible (sub-format in the GUID). */
  formatTag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Sample bytes actually present (min of the header's claim and the file). */
  dataBytes: number;
  durationSeconds: number;
}

export type WavCheck =
  | { ok: true; info: WavInfo }
  | { ok: false; code: 'RECORDING_EMPTY' | 'RECORDING_CORRUPT'; reason: string };

const ascii = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

/**
 * @param head the first bytes of the file (4 KiB is plenty for any header we write or meet)
 * @param fileSize the file's size on disk
 */
export function inspectWav(head: Uint8Array, fileSize: number): WavCheck {
  if (fileSize === 0) return { ok: false, code: 'RECORDING_EMPTY', reason: 'the file is empty (0 bytes)' };
  if (head.length < 12 || ascii(head, 0) !== 'RIFF' || ascii(head, 8) !== 'WAVE') {
    return { ok: false, code: 'RECORDING_CORRUPT', reason: 'not a RIFF/WAVE file' };
  }
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let off = 12;
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'durationSeconds'> | null = null;
  while (off + 8 <= head.length) {
    const id = ascii(head, off);
    const size = dv.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > head.length) return { ok: false, code: 'RECORDING_CORRUPT', reason: 'truncated fmt chunk' };
      fmt = {
        formatTag: dv.getUint16(body, true),
        channels: dv.getUint16(body + 2, true),
        sampleRate: dv.getUint32(body + 4, true),
        bitsPerSample: dv.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) return { ok: false, code: 'RECORDING_CORRUPT', reason: 'data chunk before fmt chunk' };
      const bad = checkFormat(fmt);
      if (bad) return { ok: false, code: 'RECORDING_CORRUPT', reason: bad };
      const onDisk = Math.max(0, fileSize - body);
      const claimed = size === 0 || size === 0xffffffff ? onDisk : size;
      const frameBytes = (fmt.bitsPerSample / 8) * fmt.channels;
      const dataBytes = Math.min(claimed, onDisk);
      const frames = Math.floor(dataBytes / frameBytes);
      if (frames === 0) return { ok: false, code: 'RECORDING_EMPTY', reason: 'the recording has a header but no audio' };
      return { ok: true, info: { ...fmt, dataOffset: body, dataBytes: frames * frameBytes, durationSeconds: frames / fmt.sampleRate } };
    }
    // Chunks are word-aligned: an odd size is followed by a pad byte.
    off = body + size + (size % 2);
  }
  return fmt
    ? { ok: false, code: 'RECORDING_EMPTY', reason: 'no data chunk: the recorder stopped before writing audio' }
    : { ok: false, code: 'RECORDING_CORRUPT', reason: 'no fmt chunk in the header' };
}

function checkFormat(f: { formatTag: number; channels: number; sampleRate: number; bitsPerSample: number }): string | null {
  if (![1, 3, 0xfffe].includes(f.formatTag)) return `unsupported WAV format tag ${f.formatTag}`;
  if (f.channels < 1 || f.channels > 8) return `implausible channel count ${f.channels}`;
  if (f.sampleRate < 4000 || f.sampleRate > 192_000) return `implausible sample rate ${f.sampleRate}`;
  if (![8, 16, 24, 32].includes(f.bitsPerSample)) return `unsupported sample size ${f.bitsPerSample} bits`;
  return null;
}

export interface SynthOptions {
  seconds: number;
  sampleRate?: number;
  /** One tone per channel, Hz. The default is two channels: 440 Hz left, 660 Hz right. */
  tones?: readonly number[];
  /** Peak level, 0..1 of full scale. */
  amplitude?: number;
}

/** A 44-byte canonical PCM header for `frames` frames. */
export function wavHeader(p: { channels: number; sampleRate: number; frames: number }): Uint8Array {
  const dataBytes = p.frames * p.channels * 2;
  const h = new Uint8Array(44);
  const dv = new DataView(h.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) h[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  dv.setUint32(4, 36 + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true);
  dv.setUint16(22, p.channels, true);
  dv.setUint32(24, p.sampleRate, true);
  dv.setUint32(28, p.sampleRate * p.channels * 2, true);
  dv.setUint16(32, p.channels * 2, true);
  dv.setUint16(34, 16, true);
  put(36, 'data');
  dv.setUint32(40, dataBytes, true);
  return h;
}

/**
 * The file in chunks of about `chunkFrames` frames, header first, so a writer can stream an
 * hour-long recording without holding it in memory.
 */
export function* synthesizeWavChunks(o: SynthOptions, chunkFrames = 8000): Generator<Uint8Array> {
  const sampleRate = o.sampleRate ?? 8000;
  const tones = o.tones ?? [440, 660];
  const amp = Math.max(0, Math.min(1, o.amplitude ?? 0.5)) * 32767;
  const channels = tones.length;
  const frames = Math.round(o.seconds * sampleRate);
  yield wavHeader({ channels, sampleRate, frames });
  for (let start = 0; start < frames; start += chunkFrames) {
    const n = Math.min(chunkFrames, frames - start);
    const pcm = new Int16Array(n * channels);
    for (let i = 0; i < n; i++) {
      const t = (start + i) / sampleRate;
      for (let c = 0; c < channels; c++) {
        // Voices take turns every 2 s; each "syllable" rises and falls 4 times a second.
        const turn = Math.floor(t / 2) % channels === c ? 1 : 0.08;
        const syllable = 0.35 + 0.65 * Math.abs(Math.sin(Math.PI * 4 * t + c));
        pcm[i * channels + c] = Math.round(amp * turn * syllable * Math.sin(2 * Math.PI * tones[c]! * t));
      }
    }
    // Int16Array is host-endian; every platform we run on is little-endian, as WAV is.
    yield new Uint8Array(pcm.buffer);
  }
}

export function synthesizeWav(o: SynthOptions): Uint8Array {
  const parts = [...synthesizeWavChunks(o)];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
