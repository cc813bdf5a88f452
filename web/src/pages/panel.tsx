/**
 * The manager's panel: the client card that pops up while the phone rings, today's tasks
 * (missed calls to call back, checkpoints), my calls today and my leads. The call journal is
 * served by analytics today; screen pop, tasks and leads come from crm-bridge and show "not
 * available yet" on servers without it.
 */
import { useEffect, useState } from 'preact/hooks';
import { CallsTable, type CallRow } from '../components/CallsTable';
import { Card, PageHeader } from '../components/Layout';
import { localDay } from '../format';
import { Async } from '../components/State';
import { Table, type Column } from '../components/Table';
import { useApi } from '../hooks';
import { t } from '../i18n';
import { connectLive } from '../live';
import { useFormat, useSession } from '../session';
import { PENDING } from './endpoints';

interface PopCard {
  callId: string;
  caller: string;
  clientName?: string | null;
  owner?: string | null;
  trackingNumber?: string | null;
  channel?: string | null;
  openDeals?: Array<{ id: string; title: string; amount?: number | null }>;
  state?: string;
}
interface Task {
  id: string;
  title: string;
  phone?: string | null;
  dueAt?: string | null;
  overdue?: boolean;
}
interface Lead {
  id: string;
  name: string;
  phone?: string | null;
  stage?: string | null;
  createdAt?: string | null;
}

function ScreenPop() {
  const load = useApi<{ call: PopCard | null }>(PENDING.screenPop);
  const [card, setCard] = useState<PopCard | null>(null);
  const f = useFormat();
  const available = load.status === 'ok';
  useEffect(() => {
    if (load.status === 'ok') setCard(load.data.call);
  }, [load]);
  useEffect(() => {
    if (!available) return;
    const h = connectLive<{ call: PopCard | null }>(PENDING.screenPopLive, { onMessage: (m) => setCard(m.call) });
    return () => h.close();
  }, [available]);

  return (
    <Card title={t('panel.screenPop')} class="screen-pop" testId="screen-pop">
      <Async load={load} what={t('panel.screenPop')}>
        {() =>
          card ? (
            <div class="pop-card">
              <div class="pop-phone phone">{f.phone(card.caller)}</div>
              <div class="pop-name">{card.clientName ?? t('panel.newCaller')}</div>
              <dl class="facts">
                <dt>{t('panel.owner')}</dt>
                <dd>{card.owner ?? '—'}</dd>
                <dt>{t('calls.number')}</dt>
                <dd class="phone">{f.phone(card.trackingNumber)}</dd>
                <dt>{t('calls.channel')}</dt>
                <dd>{card.channel ?? '—'}</dd>
              </dl>
              {card.openDeals && card.openDeals.length > 0 && (
                <ul class="deals">
                  {card.openDeals.map((d) => (
                    <li key={d.id}>
                      {d.title} <span class="muted">{f.money(d.amount)}</span>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          ) : (
            <p class="muted">{t('panel.noCall')}</p>
          )
        }
      </Async>
    </Card>
  );
}

export default function PanelPage() {
  const { me, account } = useSession();
  const f = useFormat();
  const today = localDay(account.timezone);
  const calls = useApi<{ calls: CallRow[] }>('/api/calls', { from: today, to: today, limit: 100 });
  const tasks = useApi<{ items: Task[] }>(PENDING.myTasks);
  const leads = useApi<{ items: Lead[] }>(PENDING.myLeads);

  const taskColumns: Column<Task>[] = [
    { key: 'title', label: t('panel.task'), value: (x) => x.title, render: (x) => <span class={x.overdue ? 'overdue' : ''}>{x.title}</span> },
    { key: 'phone', label: t('calls.caller'), value: (x) => x.phone ?? null, render: (x) => <span class="phone">{f.phone(x.phone)}</span> },
    { key: 'dueAt', label: t('panel.due'), value: (x) => x.dueAt ?? null, render: (x) => f.dateTime(x.dueAt) },
  ];
  const leadColumns: Column<Lead>[] = [
    { key: 'name', label: t('panel.lead'), value: (x) => x.name },
    { key: 'phone', label: t('calls.caller'), value: (x) => x.phone ?? null, render: (x) => <span class="phone">{f.phone(x.phone)}</span> },
    { key: 'stage', label: t('panel.stage'), value: (x) => x.stage ?? null },
    { key: 'createdAt', label: t('panel.created'), value: (x) => x.createdAt ?? null, render: (x) => f.dateTime(x.createdAt) },
  ];

  return (
    <>
      <PageHeader title={t('nav.panel')} subtitle={t('panel.hello', { name: me.name })} />
      <div class="grid-2">
        <ScreenPop />
        <Card title={t('panel.tasks')} testId="tasks">
          <Async load={tasks} what={t('panel.tasks')}>
            {({ items }) => <Table columns={taskColumns} rows={items} rowKey={(x) => x.id} empty={t('panel.noTasks')} />}
          </Async>
        </Card>
      </div>
      <Card title={t('panel.myCalls')} testId="my-calls">
        <Async load={calls}>{({ calls: rows }) => <CallsTable calls={rows} showManager={false} />}</Async>
      </Card>
      <Card title={t('panel.myLeads')} testId="leads">
        <Async load={leads} what={t('panel.myLeads')}>
          {({ items }) => <Table columns={leadColumns} rows={items} rowKey={(x) => x.id} />}
        </Async>
      </Card>
    </>
  );
}
