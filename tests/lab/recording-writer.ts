/**
 * What FreeSWITCH's `record_session` leaves on disk, for the lab: a 16-bit 8 kHz stereo WAV,
 * caller on the left channel (440 Hz voice), manager on the right (660 Hz voice), taking turns
 * (recordings/domain/wav.ts synthesizes them). Plug it into the actors as `writeRecording`; they
 * call it at hangup with the talk time in lab seconds, so the audio lasts as long as the call
 * did in lab time, however fast a ScaledClock runs.
 *
 * The file is written synchronously, on purpose. FreeSWITCH closes the recording as the
 * channel hangs up, before the router can react to the hangup; the lab runs in the same
 * process as the router and the recordings pipeline, so finishing the write inside the
 * hangup handler (no await) guarantees the file is complete before any of them sees the
 * CHANNEL_HANGUP the lab has just queued on the socket. An async write would race the
 * pipeline, which treats a missing WAV as a permanent failure.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { synthesizeWav, wavHeader } from '../../recordings/domain/wav';

const SAMPLE_RATE = 8000;
const CHANNELS = 2;
/**
 * The synthetic voices (440 Hz and 660 Hz, 4 Hz syllables, 2 s turns) repeat exactly every
 * 4 s at 8 kHz, so one cycle is computed once and written as often as a call needs: a 90 s
 * recording is then ~5 ms of blocking I/O instead of ~100 ms of synthesis, which on a lab
 * clock running 60x would stall every other call by 6 s of lab time.
 */
const CYCLE_SECONDS = 4;
let cycle: Uint8Array | null = null;

export function writeLabRecordingSync(path: string, seconds: number): void {
  cycle ??= synthesizeWav({ seconds: CYCLE_SECONDS, sampleRate: SAMPLE_RATE }).subarray(44);
  const frames = Math.round(Math.max(0, seconds) * SAMPLE_RATE);
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, wavHeader({ channels: CHANNELS, sampleRate: SAMPLE_RATE, frames }));
    for (let left = frames * CHANNELS * 2; left > 0; ) {
      const n = Math.min(left, cycle.length);
      writeSync(fd, cycle, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/** The actors' `writeRecording` hook: the file is complete when this returns (see above). */
export function writeLabRecording(path: string, seconds: number): Promise<void> {
  try {
    writeLabRecordingSync(path, seconds);
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err);
  }
}
