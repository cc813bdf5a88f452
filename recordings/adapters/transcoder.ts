/**
 * Audio processing behind a port, so the ffmpeg binding can be swapped: fluent-ffmpeg is
 * archived upstream (read-only since 2025-05) and is used only in this file.
 */
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import ffmpeg from 'fluent-ffmpeg';
import type { RecordingFormat } from '../domain/keys';
import { loudnessGainDb, type LoudnessMeasure } from '../domain/loudness';
import { PeaksReducer, scalePeaks, type Peaks } from '../domain/peaks';
import { AppError } from '../../platform/errors';

export interface AudioInfo {
  durationSeconds: number;
  channels: number;
  sampleRate: number;
  codec: string;
}

export interface EncodeTarget {
  format: RecordingFormat;
  /** Where to write the encoded file. */
  path: string;
}

export interface TranscodeResult {
  /** Measured from the decoded samples, not from a header. */
  durationSeconds: number;
  channels: number;
  sampleRate: number;
  loudness: LoudnessMeasure;
  gainDb: number;
  /** Waveform peaks of the normalised audio. */
  peaks: Peaks;
}

/**
 * The transcoder port.
 *
 * - `probe` reads a file's audio parameters. It rejects with AppError `RECORDING_CORRUPT`
 *   when the file is not decodable audio (missing and empty files are told apart by the
 *   caller, which can see the file system).
 * - `transcode` writes every target from one input: all channels kept, the same sample rate,
 *   loudness-normalised to a speech target with one linear gain, MP3 (CBR) and/or Opus (Ogg).
 *   It resolves once every target file is complete, and returns the waveform peaks computed
 *   from the same decode that measured the loudness. It rejects with `TRANSCODE_FAILED`
 *   (retryable) or `RECORDING_CORRUPT` (the input could not be decoded).
 */
export interface Transcoder {
  /** Is the tool installed and runnable? Rejects with `TRANSCODER_UNAVAILABLE`, saying how to fix it. */
  check(): Promise<void>;
  probe(path: string): Promise<AudioInfo>;
  transcode(input: string, targets: readonly EncodeTarget[], opts?: TranscodeOptions): Promise<TranscodeResult>;
}

export interface TranscodeOptions {
  /** The input's parameters when the caller already knows them (a parsed WAV header): saves a probe. */
  info?: AudioInfo;
  /** Waveform resolution, values per channel (default 1000). */
  peaksBuckets?: number;
}

export interface FfmpegOptions {
  ffmpegPath?: string | null;
  ffprobePath?: string | null;
  mp3Kbps?: number;
  opusKbps?: number;
  /** Kill an ffmpeg run that takes longer than this. */
  timeoutSeconds?: number;
}

export class FfmpegTranscoder implements Transcoder {
  private readonly mp3Kbps: number;
  private readonly opusKbps: number;
  private checked = false;

  constructor(private readonly o: FfmpegOptions = {}) {
    this.mp3Kbps = o.mp3Kbps ?? 32;
    this.opusKbps = o.opusKbps ?? 24;
  }

  /**
   * fluent-ffmpeg keeps the binaries' paths in module state (process-wide), and a configured
   * path that cannot be spawned throws an uncaught exception from inside it. So the paths
   * are checked first (`check`, run at start-up) and only then handed to fluent-ffmpeg.
   */
  async check(): Promise<void> {
    const run = promisify(execFile);
    for (const [tool, path] of [
      ['ffmpeg', this.o.ffmpegPath ?? 'ffmpeg'],
      ['ffprobe', this.o.ffprobePath ?? 'ffprobe'],
    ] as const) {
      try {
        await run(path, ['-version'], { timeout: 10_000 });
      } catch (err) {
        throw new AppError(
          'TRANSCODER_UNAVAILABLE',
          `${tool} (${path}) cannot be run: ${firstLine(err)}. Install Debian's ffmpeg (apt-get install ffmpeg) or set ${tool.toUpperCase()}_PATH.`,
          { cause: err },
        );
      }
    }
    if (this.o.ffmpegPath) ffmpeg.setFfmpegPath(this.o.ffmpegPath);
    if (this.o.ffprobePath) ffmpeg.setFfprobePath(this.o.ffprobePath);
    this.checked = true;
  }

  private command(input: string) {
    if (!this.checked && (this.o.ffmpegPath || this.o.ffprobePath)) {
      throw new AppError('TRANSCODER_UNAVAILABLE', 'call check() before using configured ffmpeg paths');
    }
    return ffmpeg(input, { timeout: this.o.timeoutSeconds ?? 600, stdoutLines: 200 });
  }

  probe(path: string): Promise<AudioInfo> {
    return new Promise((resolve, reject) => {
      this.command(path).ffprobe((err: unknown, data: ffmpeg.FfprobeData) => {
        if (err) return reject(ffmpegFailure('ffprobe could not read the file', err));
        const a = data.streams.find((s) => s.codec_type === 'audio');
        const duration = Number(a?.duration ?? data.format.duration);
        if (!a || !a.channels || !a.sample_rate || !Number.isFinite(duration)) {
          return reject(new AppError('RECORDING_CORRUPT', 'no audio stream with a known duration'));
        }
        resolve({ durationSeconds: duration, channels: a.channels, sampleRate: Number(a.sample_rate), codec: a.codec_name ?? 'unknown' });
      });
    });
  }

  async transcode(input: string, targets: readonly EncodeTarget[], opts: TranscodeOptions = {}): Promise<TranscodeResult> {
    if (targets.length === 0) throw new RangeError('at least one target');
    const info = opts.info ?? (await this.probe(input));
    const measured = await this.measure(input, info);
    const gainDb = loudnessGainDb(measured.loudness);
    await this.encode(input, targets, info, gainDb);
    return {
      durationSeconds: measured.frames / info.sampleRate,
      channels: info.channels,
      sampleRate: info.sampleRate,
      loudness: measured.loudness,
      gainDb,
      peaks: scalePeaks(measured.reducer.finish(opts.peaksBuckets ?? 1000), gainDb),
    };
  }

  /**
   * Pass 1: decode once to 16-bit PCM on a pipe; ffmpeg's EBU R128 scanner measures the
   * loudness on the way, and we reduce the same samples to peaks.
   */
  private measure(input: string, info: AudioInfo): Promise<{ loudness: LoudnessMeasure; reducer: PeaksReducer; frames: number }> {
    return new Promise((resolve, reject) => {
      const reducer = new PeaksReducer(info.channels, info.sampleRate);
      const stderr: string[] = [];
      let bytes = 0;
      let ended = false;
      let drained = false;
      // fluent-ffmpeg reports "Output stream closed" (and kills ffmpeg) when the pipe closes
      // more than 20 ms before ffmpeg's exit is seen, which happens under load; a pipe that
      // never emits 'close' leaves the outcome to ffmpeg's exit code.
      const out = new PassThrough({ emitClose: false });
      const finish = () => {
        if (!ended || !drained) return;
        resolve({ loudness: parseEbur128(stderr), reducer, frames: Math.floor(bytes / (2 * info.channels)) });
      };
      out.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        reducer.push(chunk);
      });
      out.on('end', () => {
        drained = true;
        finish();
      });
      this.command(input)
        .noVideo()
        // framelog=verbose keeps the per-frame lines out of the log; the summary is printed at info.
        .audioFilters('ebur128=framelog=verbose:peak=sample')
        .audioCodec('pcm_s16le')
        .audioChannels(info.channels)
        .audioFrequency(info.sampleRate)
        .format('s16le')
        .on('stderr', (line: string) => {
          stderr.push(line);
          if (stderr.length > 400) stderr.splice(0, stderr.length - 200);
        })
        .on('error', (err: unknown) => {
          out.destroy();
          reject(ffmpegFailure('ffmpeg could not decode the recording', err));
        })
        .on('end', () => {
          ended = true;
          finish();
        })
        .pipe(out, { end: true });
    });
  }

  /** Pass 2: every target in one ffmpeg run (the input is decoded once). */
  private encode(input: string, targets: readonly EncodeTarget[], info: AudioInfo, gainDb: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const cmd = this.command(input).noVideo();
      for (const t of targets) {
        cmd.output(t.path).audioFilters(`volume=${gainDb.toFixed(2)}dB`).audioChannels(info.channels).audioFrequency(info.sampleRate);
        if (t.format === 'mp3') {
          // LAME's -q 7 ("fast, good enough"): at telephone bandwidth and 32 kbit/s it is
          // indistinguishable from -q 3 and half the CPU.
          cmd.audioCodec('libmp3lame').audioBitrate(this.mp3Kbps).format('mp3').outputOptions(['-compression_level', '7', '-map_metadata', '-1']);
        } else {
          cmd
            .audioCodec('libopus')
            .audioBitrate(this.opusKbps)
            .format('ogg')
            .outputOptions(['-application', 'voip', '-compression_level', '5', '-map_metadata', '-1']);
        }
      }
      cmd
        .on('error', (err: unknown) => reject(new AppError('TRANSCODE_FAILED', `ffmpeg failed to encode: ${firstLine(err)}`, { cause: err })))
        .on('end', () => resolve())
        .run();
    });
  }
}

/** The summary ffmpeg's ebur128 filter prints at the end of a run. */
export function parseEbur128(lines: readonly string[]): LoudnessMeasure {
  const text = lines.join('\n');
  const at = text.lastIndexOf('Summary:');
  const summary = at >= 0 ? text.slice(at) : '';
  const i = /Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+|-inf|nan)\s*LUFS/i.exec(summary);
  const p = /Sample peak:\s*\n\s*Peak:\s*(-?[\d.]+|-inf|nan)\s*dBFS/i.exec(summary);
  const num = (m: RegExpExecArray | null) => {
    const v = m ? Number(m[1]) : NaN;
    return Number.isFinite(v) ? v : null;
  };
  return { integratedLufs: num(i), samplePeakDbfs: num(p) };
}

/**
 * A failure is the input's fault (permanent: RECORDING_CORRUPT) only when ffmpeg says so about
 * the input; anything else (the tool missing or killed, a timeout, a broken pipe) is
 * TRANSCODE_FAILED and retried, so a bad install or a loaded machine never marks good
 * recordings as corrupt.
 */
const INPUT_FAULT = /: (Invalid data found when processing input|Invalid argument|End of file)\s*$|does not contain any stream|could not find codec parameters/im;

export function ffmpegFailure(what: string, err: unknown): AppError {
  const full = String((err as Error)?.message ?? err);
  const m = INPUT_FAULT.exec(full);
  return new AppError(m ? 'RECORDING_CORRUPT' : 'TRANSCODE_FAILED', `${what}: ${m ? m[0].replace(/^: /, '').trim() : firstLine(err)}`, { cause: err });
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
}
