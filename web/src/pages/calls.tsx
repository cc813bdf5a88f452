/** The call journal (sales head): every call of the period, filterable by outcome, with one-click playback. */
import { useState } from 'preact/hooks';
import { CallsTable, type CallRow } from '../components/CallsTable';
import { Card, PageHeader } from '../components/Layout';
import { PeriodPicker, usePeriod } from '../components/PeriodPicker';
import { Async } from '../components/State';
import { useApi } from '../hooks';
import { t } from '../i18n';

const OUTCOMES = ['after_hours', 'ivr_abandon', 'missed', 'short_call', 'unlogged', 'not_worked', 'worked'] as const;

export default function CallsPage() {
  const [period, setPeriod, tz] = usePeriod('today');
  const [outcome, setOutcome] = useState('');
  const load = useApi<{ calls: CallRow[] }>('/api/calls', { ...period, outcome, limit: 500 });
  return (
    <>
      <PageHeader
        title={t('nav.calls')}
        subtitle={t('calls.subtitle')}
        actions={
          <>
            <select class="select" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)} aria-label={t('calls.outcome')}>
              <option value="">{t('calls.allOutcomes')}</option>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {t(`outcome.${o}`)}
                </option>
              ))}
            </select>
            <PeriodPicker value={period} onChange={setPeriod} timeZone={tz} />
          </>
        }
      />
      <Card>
        <Async load={load}>{({ calls }) => <CallsTable calls={calls} csvName={`calls-${period.from}-${period.to}`} />}</Async>
      </Card>
    </>
  );
}
