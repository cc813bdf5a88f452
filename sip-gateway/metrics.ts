/**
 * In-process counters and gauges, rendered in the Prometheus text format at
 * `/metrics/sip-gateway`. Per-process on purpose: a scraper sums the gateways.
 */

type Labels = Record<string, string>;

const HELP: Record<string, string> = {
  sip_register_total: 'REGISTER requests by outcome',
  sip_auth_failures_total: 'failed digest authentications by cause',
  sip_lockouts_total: 'lockouts taken, by scope',
  sip_inbound_calls_total: 'carrier INVITEs by outcome',
  sip_outbound_calls_total: 'softphone and click-to-call attempts by outcome',
  sip_drachtio_reconnects_total: 'drachtio connection attempts after a loss',
  sip_active_calls: 'calls relayed by this process and not yet ended',
  sip_drachtio_connected: '1 while the drachtio connection is up (inbound mode) or listening (outbound mode)',
};

function labelText(l: Labels): string {
  const keys = Object.keys(l).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${String(l[k]).replace(/(["\\])/g, '\\$1').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

export class Metrics {
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly gauges = new Map<string, () => number>();

  inc(name: string, labels: Labels = {}, by = 1): void {
    let series = this.counters.get(name);
    if (!series) this.counters.set(name, (series = new Map()));
    const k = labelText(labels);
    series.set(k, (series.get(k) ?? 0) + by);
  }

  /** The current value of one counter series (0 when never incremented). */
  get(name: string, labels: Labels = {}): number {
    return this.counters.get(name)?.get(labelText(labels)) ?? 0;
  }

  gauge(name: string, read: () => number): void {
    this.gauges.set(name, read);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, series] of [...this.counters].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (HELP[name]) lines.push(`# HELP ${name} ${HELP[name]}`);
      lines.push(`# TYPE ${name} counter`);
      for (const [l, v] of series) lines.push(`${name}${l} ${v}`);
    }
    for (const [name, read] of this.gauges) {
      if (HELP[name]) lines.push(`# HELP ${name} ${HELP[name]}`);
      lines.push(`# TYPE ${name} gauge`, `${name} ${read()}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
