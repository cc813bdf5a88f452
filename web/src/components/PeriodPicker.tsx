/**
 * The report period: presets (today, yesterday, 7 and 30 days) or any two dates. Days are the
 * account's local days, as the reports API counts them.
 */
import { useState } from 'preact/hooks';
import { localDay } from '../format';
import { t, type Key } from '../i18n';
import { useSession } from '../session';

// A type, not an interface: it must pass as an API query (an index-signature type).
export type Period = { from: string; to: string };

const PRESETS: ReadonlyArray<{ id: string; label: Key; from: number; to: number }> = [
  { id: 'today', label: 'period.today', from: 0, to: 0 },
  { id: 'yesterday', label: 'period.yesterday', from: -1, to: -1 },
  { id: '7d', label: 'period.7d', from: -6, to: 0 },
  { id: '30d', label: 'period.30d', from: -29, to: 0 },
];

export function usePeriod(preset = '30d'): [Period, (p: Period) => void, string] {
  const { account } = useSession();
  const p = PRESETS.find((x) => x.id === preset) ?? PRESETS[0]!;
  const [period, setPeriod] = useState<Period>(() => ({ from: localDay(account.timezone, p.from), to: localDay(account.timezone, p.to) }));
  return [period, setPeriod, account.timezone];
}

export function PeriodPicker(props: { value: Period; onChange(p: Period): void; timeZone: string }) {
  const active = PRESETS.find((p) => localDay(props.timeZone, p.from) === props.value.from && localDay(props.timeZone, p.to) === props.value.to);
  return (
    <div class="period" role="group" aria-label={t('period.label')}>
      <div class="segmented">
        {PRESETS.map((p) => (
          <button
            key={p.id}
            type="button"
            class={active?.id === p.id ? 'on' : ''}
            aria-pressed={active?.id === p.id}
            onClick={() => props.onChange({ from: localDay(props.timeZone, p.from), to: localDay(props.timeZone, p.to) })}
          >
            {t(p.label)}
          </button>
        ))}
      </div>
      <label class="date-input">
        <span class="sr-only">{t('period.from')}</span>
        <input type="date" value={props.value.from} max={props.value.to} onChange={(e) => props.onChange({ ...props.value, from: e.currentTarget.value })} />
      </label>
      <span class="muted">—</span>
      <label class="date-input">
        <span class="sr-only">{t('period.to')}</span>
        <input type="date" value={props.value.to} min={props.value.from} onChange={(e) => props.onChange({ ...props.value, to: e.currentTarget.value })} />
      </label>
    </div>
  );
}
