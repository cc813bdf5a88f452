/** Building blocks shared by pages: a page header, cards, figure tiles. */
import type { ComponentChild } from 'preact';

export function PageHeader(props: { title: string; subtitle?: string; actions?: ComponentChild }) {
  return (
    <header class="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle && <p class="muted">{props.subtitle}</p>}
      </div>
      {props.actions && <div class="page-actions">{props.actions}</div>}
    </header>
  );
}

export function Card(props: { title?: string; children: ComponentChild; class?: string; testId?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} data-testid={props.testId}>
      {props.title && <h2 class="card-title">{props.title}</h2>}
      {props.children}
    </section>
  );
}

export interface Kpi {
  label: string;
  value: string;
  hint?: string;
  tone?: 'bad' | 'good';
}

export function KpiRow(props: { items: readonly Kpi[] }) {
  return (
    <div class="kpis">
      {props.items.map((k) => (
        <div class={`kpi ${k.tone ? `kpi-${k.tone}` : ''}`} key={k.label}>
          <div class="kpi-label">{k.label}</div>
          <div class="kpi-value">{k.value}</div>
          {k.hint && <div class="kpi-hint muted">{k.hint}</div>}
        </div>
      ))}
    </div>
  );
}
