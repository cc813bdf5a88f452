/**
 * The call journal (sales head; a manager sees only the calls they answered, the server
 * filters): every call of the period with one-click playback, filtered by date, manager,
 * channel, outcome and talk time. Two views go straight to the losses worth listening to:
 * `#/calls/unlogged` (talked, never entered in the CRM) and `#/calls/missed`.
 */
import { useState } from 'preact/hooks';
import { CallsTable, type CallRow } from '../components/CallsTable';
import { Card, PageHeader } from '../components/Layout';
import { PeriodPicker, usePeriod } from '../components/PeriodPicker';
import { Async } from '../components/State';
import { useApi } from '../hooks';
import { t, type Key } from '../i18n';
import { navigate } from '../router';
import { useFormat, useSession } from '../session';
import type { PageProps } from './index';

const OUTCOMES = ['after_hours', 'ivr_abandon', 'missed', 'short_call', 'unlogged', 'not_worked', 'worked'] as const;
const VIEWS: ReadonlyArray<{ id: string; label: Key; outcome: string }> = [
  { id: '', label: 'journal.all', outcome: '' },
  { id: 'unlogged', label: 'journal.unlogged', outcome: 'unlogged' },
  { id: 'missed', label: 'journal.missed', outcome: 'missed' },
];
/** Talk-time floors offered (seconds): the API filters by minTalkSeconds. */
const MIN_TALK = [10, 30, 60, 180] as const;

type Named = { id: string; name: string };

export default function CallsPage(props: PageProps) {
  const { me } = useSession();
  const f = useFormat();
  const heads = me.role !== 'manager';
  const view = VIEWS.find((v) => v.id === props.rest) ?? VIEWS[0]!;
  const [period, setPeriod, tz] = usePeriod('today');
  const [picked, setOutcome] = useState('');
  const [managerId, setManager] = useState('');
  const [channelId, setChannel] = useState('');
  const [minTalk, setMinTalk] = useState('');
  const outcome = view.outcome || picked;
  // The lists for the filters are the configuration's; a manager filters their own calls only.
  const users = useApi<{ items: Array<Named & { role: string }> }>(heads ? '/api/users' : null, { limit: 500 });
  const channels = useApi<{ items: Named[] }>(heads ? '/api/channels' : null, { limit: 500 });
  const load = useApi<{ calls: CallRow[] }>('/api/calls', { ...period, outcome, managerId, channelId, minTalkSeconds: minTalk, limit: 500 });
  const managers = users.status === 'ok' ? users.data.items.filter((u) => u.role === 'manager') : [];

  return (
    <>
      <PageHeader title={t('nav.calls')} subtitle={t('calls.subtitle')} actions={<PeriodPicker value={period} onChange={setPeriod} timeZone={tz} />} />
      <nav class="tabs" aria-label={t('journal.views')}>
        {VIEWS.map((v) => (
          <button key={v.id} type="button" class={v.id === view.id ? 'on' : ''} aria-pressed={v.id === view.id} onClick={() => navigate('calls', v.id)}>
            {t(v.label)}
          </button>
        ))}
      </nav>
      <div class="filters" role="group" aria-label={t('journal.filters')}>
        {heads && (
          <select class="select" value={managerId} onChange={(e) => setManager(e.currentTarget.value)} aria-label={t('calls.manager')}>
            <option value="">{t('journal.allManagers')}</option>
            {managers.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        )}
        {heads && (
          <select class="select" value={channelId} onChange={(e) => setChannel(e.currentTarget.value)} aria-label={t('calls.channel')}>
            <option value="">{t('journal.allChannels')}</option>
            {(channels.status === 'ok' ? channels.data.items : []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        )}
        {!view.outcome && (
          <select class="select" value={picked} onChange={(e) => setOutcome(e.currentTarget.value)} aria-label={t('calls.outcome')}>
            <option value="">{t('calls.allOutcomes')}</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {t(`outcome.${o}`)}
              </option>
            ))}
          </select>
        )}
        <select class="select" value={minTalk} onChange={(e) => setMinTalk(e.currentTarget.value)} aria-label={t('journal.talkAtLeast')}>
          <option value="">{t('journal.anyTalk')}</option>
          {MIN_TALK.map((s) => (
            <option key={s} value={String(s)}>
              {t('journal.talkFrom', { d: f.duration(s) })}
            </option>
          ))}
        </select>
      </div>
      <Card>
        <Async load={load}>
          {({ calls }) => <CallsTable calls={calls} showManager={heads} csvName={`calls-${view.id || 'all'}-${period.from}-${period.to}`} />}
        </Async>
      </Card>
    </>
  );
}
