/**
 * The player's waveform from the peaks the recordings pipeline stores (per channel, `buckets`
 * values 0..1, GET /api/calls/:id/recording/meta): no audio is decoded in the browser, so the
 * picture is there before the first audio byte. Stereo recordings show the caller above the
 * centre line and the manager below it; mono mirrors one channel.
 */
export interface Peaks {
  channels: number;
  buckets: number;
  data: number[][];
}

/** One bar per column: the loudest bucket falling into it, for the upper and lower half. */
export function waveColumns(peaks: Peaks, columns: number): { top: number[]; bottom: number[] } {
  const n = Math.max(0, Math.floor(columns));
  const a = peaks.data[0] ?? [];
  const b = peaks.data[1] ?? a;
  const pick = (src: number[]) => {
    const out: number[] = new Array<number>(n).fill(0);
    if (src.length === 0) return out;
    for (let c = 0; c < n; c++) {
      const from = Math.floor((c * src.length) / n);
      const to = Math.max(from + 1, Math.floor(((c + 1) * src.length) / n));
      let max = 0;
      for (let i = from; i < to && i < src.length; i++) max = Math.max(max, src[i]!);
      out[c] = Math.min(1, Math.max(0, max));
    }
    return out;
  };
  return { top: pick(a), bottom: pick(b) };
}

/** Where a click at `x` of a `width`-wide waveform seeks to, in seconds (clamped to the recording). */
export function seekTime(x: number, width: number, duration: number): number {
  if (!(width > 0) || !(duration > 0)) return 0;
  return Math.min(duration, Math.max(0, (x / width) * duration));
}

/** Draws the waveform, played part in `played`, the rest in `rest`. */
export function drawWaveform(canvas: HTMLCanvasElement, peaks: Peaks, progress: number, colors: { played: string; rest: string }): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const bar = Math.max(1, Math.round(2 * dpr));
  const cols = Math.floor(w / (bar + 1));
  const { top, bottom } = waveColumns(peaks, cols);
  const mid = h / 2;
  const playedCols = Math.round(Math.min(1, Math.max(0, progress)) * cols);
  ctx.clearRect(0, 0, w, h);
  for (let c = 0; c < cols; c++) {
    ctx.fillStyle = c < playedCols ? colors.played : colors.rest;
    const x = c * (bar + 1);
    // A floor of one pixel keeps silence visible as a line, so the bar is still clickable.
    ctx.fillRect(x, mid - Math.max(1, top[c]! * (mid - 1)), bar, Math.max(1, top[c]! * (mid - 1)));
    ctx.fillRect(x, mid, bar, Math.max(1, bottom[c]! * (mid - 1)));
  }
}
