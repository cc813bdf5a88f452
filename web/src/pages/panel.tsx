/**
 * The manager's panel: the client card that pops up while the phone rings, today's tasks
 * (missed calls to call back, checkpoints), my calls today and my leads. The call journal is
 * served by analytics today; screen pop, tasks and leads come from crm-bridge and show "not
 * available yet" on servers without it.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { CallsTable, type CallRow } from '../components/CallsTable';
import { Card, PageHeader } from '../components/Layout';
import { localDay } from '../format';
import { Async } from '../components/State';
import { Table, type Column } from '../components/Table';
import { useApi } from '../hooks';
import { ApiError, api } from '../api';
import { t, tMaybe } from '../i18n';
import { connectLive } from '../live';
import { useFormat, useSession } from '../session';
import { LIVE_API } from './endpoints';

/** The card crm-bridge/screen-pop pushes (crm-bridge/screen-pop/domain/pops.ts, PopCard). */
interface PopCard {
  callId: string;
  /** ringing | answered | answered_elsewhere | ended */
  state: string;
  caller: string;
  contactId?: string | null;
  clientName?: string | null;
  company?: string | null;
  owner?: string | null;
  trackingNumber?: string | null;
  channel?: string | null;
  campaign?: string | null;
  openDeals?: Array<{ id: string; title: string; amount?: number | null }>;
  openLeads?: Array<{ id: string; name: string; status: string }>;
  lastCalls?: Array<{ callId: string; at: string; outcome: string | null; talkSeconds: number; manager: string | null; playUrl: string | null }>;
  cardUrl?: string | null;
  answeredBy?: string | null;
}
interface Task {
  id: string;
  /** callback: a missed call or a call-back request, with a "call back" button. */
  kind?: string;
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
  const load = useApi<{ call: PopCard | null }>(LIVE_API.screenPop);
  const [card, setCard] = useState<PopCard | null>(null);
  const available = load.status === 'ok';
  // The snapshot's data, not the load object: useApi returns a new object every render, and
  // re-applying the snapshot then would wipe a card the socket has just pushed.
  const snapshot = load.status === 'ok' ? load.data : null;
  useEffect(() => {
    if (snapshot) setCard(snapshot.call);
  }, [snapshot]);
  // The socket sends the current card on every (re)connect, so a reconnect heals by itself.
  useEffect(() => {
    if (!available) return;
    const h = connectLive<{ call: PopCard | null }>(LIVE_API.screenPopLive, { onMessage: (m) => setCard(m.call) });
    return () => h.close();
  }, [available]);

  return (
    <Card title={t('panel.screenPop')} class="screen-pop" testId="screen-pop">
      <Async load={load} what={t('panel.screenPop')}>
        {() => (card ? <PopCardView key={card.callId} card={card} /> : <p class="muted pop-empty">{t('panel.noCall')}</p>)}
      </Async>
    </Card>
  );
}

/** One call's card. Keyed by call id, so a new call starts with a fresh "create lead" button. */
function PopCardView({ card }: { card: PopCard }) {
  const f = useFormat();
  const [playing, setPlaying] = useState<string | null>(null);
  const [lead, setLead] = useState<{ busy: boolean; id?: string; error?: string }>({ busy: false });
  const createLead = () => {
    setLead({ busy: true });
    api<{ id?: string; lead?: { id: string } }>(LIVE_API.callLead(card.callId), { method: 'POST', body: {} }).then(
      (r) => setLead({ busy: false, id: r?.id ?? r?.lead?.id ?? '' }),
      (e: unknown) => setLead({ busy: false, error: e instanceof ApiError ? e.message : String(e) }),
    );
  };
  const hasCard = Boolean(card.contactId) || (card.openLeads?.length ?? 0) > 0;
  const stateText =
    card.state === 'answered_elsewhere' ? t('panel.answeredElsewhere', { name: card.answeredBy ?? '—' }) : tMaybe(`panel.state.${card.state}`, card.state);
  return (
    <div class="pop-card" data-call-id={card.callId} data-state={card.state}>
      <span class={`badge pop-state pop-state-${card.state}`}>{stateText}</span>
      <div class="pop-phone phone">{f.phone(card.caller)}</div>
      <div class="pop-name">
        {card.clientName ?? t('panel.newCaller')}
        {card.company ? <span class="muted"> · {card.company}</span> : null}
      </div>
      <dl class="facts">
        <dt>{t('panel.owner')}</dt>
        <dd class="pop-owner">{card.owner ?? '—'}</dd>
        <dt>{t('calls.number')}</dt>
        <dd class="phone pop-number">{f.phone(card.trackingNumber)}</dd>
        <dt>{t('calls.channel')}</dt>
        <dd class="pop-channel">
          {card.channel ?? '—'}
          {card.campaign ? <span class="muted"> · {card.campaign}</span> : null}
        </dd>
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
      {card.lastCalls && card.lastCalls.length > 0 && (
        <ul class="pop-calls">
          {card.lastCalls.map((c) => (
            <li key={c.callId} data-call-id={c.callId}>
              {f.dateTime(c.at)} · {c.outcome ? tMaybe(`outcome.${c.outcome}`, c.outcome) : '—'} · {f.duration(c.talkSeconds)}
              {c.manager ? ` · ${c.manager}` : ''}{' '}
              {c.playUrl && (
                <button type="button" class="btn btn-play" aria-label={t('calls.play')} onClick={() => setPlaying(c.playUrl)}>
                  ▶
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {playing && <audio class="pop-player" controls autoplay preload="auto" src={playing} />}
      <div class="pop-actions">
        {card.cardUrl && (
          <a class="btn btn-ghost pop-open" href={card.cardUrl}>
            {t('panel.openCard')}
          </a>
        )}
        {!hasCard && lead.id === undefined && (
          <button type="button" class="btn btn-primary pop-create-lead" disabled={lead.busy} onClick={createLead}>
            {t('panel.createLead')}
          </button>
        )}
        {lead.id !== undefined && <span class="pop-lead-created">{t('panel.leadCreated')}</span>}
        {lead.error && <span class="error">{lead.error}</span>}
      </div>
    </div>
  );
}

/** How a click-to-call went (GET /api/callbacks/attempts/:id). */
type CallState = { status: 'dialing' | 'connected' | 'failed'; cause?: string | null } | { status: 'error'; message: string };
const ATTEMPT_POLL_MS = 1000;

/**
 * "Call back" and "Done" on one task. The switch rings the client, then my extension: the 202
 * only says it is dialling, so the attempt is polled until it connected or failed.
 */
function TaskActions({ task, onDone }: { task: Task; onDone(): void }) {
  const [call, setCall] = useState<CallState | null>(null);
  const [busy, setBusy] = useState(false);
  const alive = useRef(true);
  useEffect(() => () => void (alive.current = false), []);
  const fail = (e: unknown) => setCall({ status: 'error', message: e instanceof ApiError ? e.message : String(e) });
  const callBack = async () => {
    setCall({ status: 'dialing' });
    try {
      const { attemptId } = await api<{ attemptId: string }>(`/api/tasks/${task.id}/call`, { method: 'POST' });
      while (alive.current) {
        const a = await api<{ status: 'dialing' | 'connected' | 'failed'; cause: string | null }>(`/api/callbacks/attempts/${attemptId}`);
        if (!alive.current) return;
        setCall(a);
        if (a.status !== 'dialing') return;
        await new Promise((r) => setTimeout(r, ATTEMPT_POLL_MS));
      }
    } catch (e) {
      if (alive.current) fail(e);
    }
  };
  const done = () => {
    setBusy(true);
    api(`/api/tasks/${task.id}/done`, { method: 'POST', body: {} }).then(onDone, (e: unknown) => {
      setBusy(false);
      fail(e);
    });
  };
  const dialing = call?.status === 'dialing';
  return (
    <span class="task-actions">
      {task.kind === 'callback' && call?.status !== 'connected' && (
        <button type="button" class="btn btn-primary task-call" disabled={dialing || busy} onClick={() => void callBack()}>
          {t('panel.callBack')}
        </button>
      )}
      {call?.status !== 'connected' && (
        <button type="button" class="btn btn-ghost task-done" disabled={dialing || busy} onClick={done}>
          {t('panel.done')}
        </button>
      )}
      {call && (
        <span class={`task-result task-${call.status}`} data-state={call.status} role="status">
          {call.status === 'dialing'
            ? t('panel.dialing')
            : call.status === 'error'
              ? call.message
              : `${t(`panel.callResult.${call.status}`)}${call.cause ? ` · ${call.cause}` : ''}`}
        </span>
      )}
    </span>
  );
}

export default function PanelPage() {
  const { me, account } = useSession();
  const f = useFormat();
  const today = localDay(account.timezone);
  const calls = useApi<{ calls: CallRow[] }>('/api/calls', { from: today, to: today, limit: 100 });
  const tasks = useApi<{ items: Task[] }>(LIVE_API.myTasks);
  const leads = useApi<{ items: Lead[] }>(LIVE_API.myLeads);

  const taskColumns: Column<Task>[] = [
    { key: 'title', label: t('panel.task'), value: (x) => x.title, render: (x) => <span class={x.overdue ? 'overdue' : ''}>{x.title}</span> },
    { key: 'phone', label: t('calls.caller'), value: (x) => x.phone ?? null, render: (x) => <span class="phone">{f.phone(x.phone)}</span> },
    { key: 'dueAt', label: t('panel.due'), value: (x) => x.dueAt ?? null, render: (x) => f.dateTime(x.dueAt) },
    { key: 'actions', label: t('panel.actions'), value: () => null, sortable: false, render: (x) => <TaskActions task={x} onDone={tasks.reload} /> },
  ];
  const leadColumns: Column<Lead>[] = [
    { key: 'name', label: t('panel.lead'), value: (x) => x.name, render: (x) => <a href={`#/crm/lead/${x.id}`}>{x.name}</a> },
    { key: 'phone', label: t('calls.caller'), value: (x) => x.phone ?? null, render: (x) => <span class="phone">{f.phone(x.phone)}</span> },
    { key: 'stage', label: t('panel.stage'), value: (x) => x.stage ?? null, render: (x) => (x.stage ? tMaybe(`crm.leadStatus.${x.stage}`, x.stage) : '—') },
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
