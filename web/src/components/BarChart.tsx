/**
 * A bar chart (vertical, or horizontal for long labels). The canvas carries an aria-label
 * listing the figures, for screen readers and for browser tests that cannot read pixels.
 */
import { useEffect, useRef } from 'preact/hooks';
import { Chart, PALETTE } from './chart';

export interface BarSeries {
  label: string;
  data: ReadonlyArray<number | null>;
  color?: string;
}

export interface BarChartProps {
  labels: readonly string[];
  series: readonly BarSeries[];
  horizontal?: boolean;
  /** Formats axis ticks and tooltips (money, percent). */
  format?(v: number): string;
  height?: number;
  title?: string;
}

export function describeSeries(labels: readonly string[], series: readonly BarSeries[], format: (v: number) => string): string {
  return series
    .map((s) => `${s.label}: ${labels.map((l, i) => `${l} ${s.data[i] === null || s.data[i] === undefined ? '—' : format(s.data[i]!)}`).join(', ')}`)
    .join('; ');
}

export function BarChart(props: BarChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar', Array<number | null>, string> | null>(null);
  const format = props.format ?? ((v: number) => String(v));

  useEffect(() => {
    const data = {
      labels: [...props.labels],
      datasets: props.series.map((s, i) => ({
        label: s.label,
        data: [...s.data],
        backgroundColor: s.color ?? PALETTE[i % PALETTE.length],
        borderRadius: 4,
        maxBarThickness: 48,
      })),
    };
    // Counts get whole-number ticks; otherwise a scale of 0..1 would read 0, 0, 0, 1, 1.
    const precision = props.series.every((s) => s.data.every((v) => v === null || Number.isInteger(v))) ? 0 : undefined;
    const valueAxis = props.horizontal ? 'x' : 'y';
    if (chart.current) {
      chart.current.data = data;
      (chart.current.options.scales![valueAxis]!.ticks as { precision?: number }).precision = precision;
      chart.current.update();
      return;
    }
    chart.current = new Chart(canvas.current!, {
      type: 'bar',
      data,
      options: {
        indexAxis: props.horizontal ? 'y' : 'x',
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: props.series.length > 1, position: 'bottom' },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${format(Number(c.raw))}` } },
        },
        scales: {
          [valueAxis]: { beginAtZero: true, ticks: { precision, callback: (v) => format(Number(v)) } },
        },
      },
    });
    // The chart is rebuilt only when the component unmounts; data changes update it in place.
  }, [props.labels, props.series]);

  useEffect(() => () => chart.current?.destroy(), []);

  return (
    <figure class="chart" style={{ height: `${props.height ?? 260}px` }}>
      {props.title && <figcaption>{props.title}</figcaption>}
      <div class="chart-canvas">
        <canvas ref={canvas} role="img" aria-label={describeSeries(props.labels, props.series, format)} />
      </div>
    </figure>
  );
}
