/**
 * The loss funnel as a chart: one centred horizontal bar per stage, narrowing as calls are
 * lost. chart.js has no funnel type, so each bar is stacked between two invisible spacers of
 * (widest − value) / 2.
 */
import { useEffect, useRef } from 'preact/hooks';
import { Chart } from './chart';

export interface FunnelStageDatum {
  label: string;
  value: number;
}

const COLORS = ['#1d3f9a', '#2456d6', '#3b6ef0', '#5b8af5', '#7ea4f7', '#a3bff9', '#12b76a'];

export function FunnelChart(props: { stages: readonly FunnelStageDatum[]; format?(v: number): string; height?: number; title?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar', number[], string> | null>(null);
  const format = props.format ?? ((v: number) => String(v));

  useEffect(() => {
    const max = Math.max(1, ...props.stages.map((s) => s.value));
    const pad = props.stages.map((s) => (max - s.value) / 2);
    const data = {
      labels: props.stages.map((s) => s.label),
      datasets: [
        { label: 'pad', data: pad, backgroundColor: 'transparent', stack: 'f' },
        {
          label: 'value',
          data: props.stages.map((s) => s.value),
          backgroundColor: props.stages.map((_, i) => COLORS[Math.min(i, COLORS.length - 1)]!),
          borderRadius: 3,
          stack: 'f',
        },
        { label: 'pad2', data: pad, backgroundColor: 'transparent', stack: 'f' },
      ],
    };
    if (chart.current) {
      chart.current.data = data;
      chart.current.options.scales!.x!.max = max;
      chart.current.update();
      return;
    }
    chart.current = new Chart(canvas.current!, {
      type: 'bar',
      data,
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: (item) => item.datasetIndex === 1,
            callbacks: { label: (c) => format(Number(c.raw)) },
          },
        },
        scales: {
          x: { stacked: true, display: false, max },
          y: { stacked: true, grid: { display: false } },
        },
      },
    });
  }, [props.stages]);

  useEffect(() => () => chart.current?.destroy(), []);

  return (
    <figure class="chart" style={{ height: `${props.height ?? 300}px` }}>
      {props.title && <figcaption>{props.title}</figcaption>}
      <div class="chart-canvas">
        <canvas ref={canvas} role="img" aria-label={props.stages.map((s) => `${s.label}: ${format(s.value)}`).join('; ')} />
      </div>
    </figure>
  );
}
