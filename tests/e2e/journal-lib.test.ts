/** The journal player's pure parts: waveform columns from stored peaks, and where a click seeks. */
import { describe, expect, it } from 'vitest';
import { seekTime, waveColumns } from '../../web/src/components/waveform';

describe('waveColumns', () => {
  it('takes the loudest bucket per column, caller above and manager below', () => {
    const peaks = { channels: 2, buckets: 6, data: [[0.1, 0.9, 0.2, 0.3, 0, 0.4], [0, 0, 0.5, 0.6, 0.7, 0.1]] };
    expect(waveColumns(peaks, 3)).toEqual({ top: [0.9, 0.3, 0.4], bottom: [0, 0.6, 0.7] });
  });

  it('stretches fewer buckets than columns, mirrors a mono recording, and clamps to 0..1', () => {
    const mono = { channels: 1, buckets: 2, data: [[0.2, 1.4]] };
    expect(waveColumns(mono, 4)).toEqual({ top: [0.2, 0.2, 1, 1], bottom: [0.2, 0.2, 1, 1] });
    expect(waveColumns({ channels: 0, buckets: 0, data: [] }, 3)).toEqual({ top: [0, 0, 0], bottom: [0, 0, 0] });
  });
});

describe('seekTime', () => {
  it('maps the click to the recording and clamps it to its ends', () => {
    expect(seekTime(150, 600, 90)).toBe(22.5);
    expect(seekTime(-5, 600, 90)).toBe(0);
    expect(seekTime(700, 600, 90)).toBe(90);
    expect(seekTime(100, 0, 90)).toBe(0);
    expect(seekTime(100, 600, Number.NaN)).toBe(0);
  });
});
