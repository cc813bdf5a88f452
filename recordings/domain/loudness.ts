/**
 * Loudness normalisation as one linear gain per recording (EBU R128 measured, two-pass):
 * the integrated loudness is brought to the target unless that would push the loudest
 * sample over the ceiling, in which case the gain stops at the ceiling. A linear gain keeps
 * the two channels' balance and never pumps or distorts, which matters for calls a sales
 * head listens to for tone of voice.
 *
 * Why not ffmpeg's `loudnorm` filter: it resamples to 192 kHz internally and ran at ~28x
 * realtime on an 8 kHz stereo call here, against a goal of 100x; measuring with `ebur128`
 * and applying `volume` runs at several hundred x.
 */
export interface LoudnessMeasure {
  /** Integrated loudness, LUFS; null when the gate found no programme (silence). */
  integratedLufs: number | null;
  /** Highest sample, dBFS; null when unknown. */
  samplePeakDbfs: number | null;
}

export interface LoudnessTarget {
  integratedLufs: number;
  peakCeilingDbfs: number;
  /** Never boost by more than this: a near-silent call is not turned into loud hiss. */
  maxBoostDb: number;
}

/** Speech for listening on headphones or laptop speakers (AES TD1004: -16 LUFS). */
export const SPEECH_TARGET: LoudnessTarget = { integratedLufs: -16, peakCeilingDbfs: -1.5, maxBoostDb: 24 };

export function loudnessGainDb(m: LoudnessMeasure, t: LoudnessTarget = SPEECH_TARGET): number {
  if (m.integratedLufs === null || !Number.isFinite(m.integratedLufs) || m.integratedLufs <= -70) return 0;
  let gain = Math.min(t.integratedLufs - m.integratedLufs, t.maxBoostDb);
  if (m.samplePeakDbfs !== null && Number.isFinite(m.samplePeakDbfs)) gain = Math.min(gain, t.peakCeilingDbfs - m.samplePeakDbfs);
  return Math.round(gain * 100) / 100;
}
