/**
 * The client card (`#/crm/contact/<id>`, `#/crm/lead/<id>`, `#/crm/phone/<number>`), reached
 * from the screen pop, "my leads" and the call journal; not in the top navigation. Everything
 * comes from crm-bridge/http/cards.ts as it is: the card is re-read after every change, so
 * what the page shows is what the server stored (a deal closed here stays on screen, marked,
 * until the page is left: the card itself lists open deals only).
 *
 * Refusals are shown by their stable code (crm.error.<CODE>): 403 "not your card", 404, a lead
 * status the pipeline does not allow, a lost deal without a reason.
 */
import type { ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Card, PageHeader } from '../components/Layout';
import { RecordingPlayer } from '../components/RecordingPlayer';
import { ErrorBox, Loading } from '../components/State';
import { useApi, type Load } from '../hooks';
import { t, tMaybe } from '../i18n';
import { useFormat } from '../session';
import type { PageProps } from './index';

interface Phone {
  phone: string;
  ext: string | null;
}
interface Contact {
  id: string;
  name: string;
  company: string | null;
  email: string | null;
  ownerUserId: string | null;
  ownerName?: string | null;
  phones: Phone[];
}
interface Lead {
  id: string;
  name: string;
  phone: string | null;
  contactId: string | null;
  ownerUserId: string | null;
  ownerName?: string | null;
  status: string;
  sourceCallId: string | null;
  trackingNumber: string | null;
  createdAt: string;
  firstWorkAt: string | null;
}
interface Deal {
  id: string;
  title: string;
  stage: string;
  status: 'open' | 'won' | 'lost';
  amount: number;
  lostReason: string | null;
}
interface Activity {
  id: string;
  kind: string;
  title: string;
  at: string;
}
interface CardCall {
  callId: string;
  at: string;
  outcome?: string | null;
  talkSeconds?: number | null;
}
interface ContactCardData {
  contact: Contact;
  leads: Lead[];
  openDeals: Deal[];
  activities: Activity[];
  lastCalls: CardCall[];
}
interface LeadCardData {
  lead: Lead;
  deals: Deal[];
  activities: Activity[];
  calls: Array<{ callId: string; linkedBy: string; linkedAt: string }>;
}

/** The server's lead statuses (crm-bridge/domain/cards.ts); which moves are allowed is its call. */
const LEAD_STATUSES = ['new', 'in_progress', 'qualified', 'converted', 'junk'] as const;

const errorText = (e: unknown) => (e instanceof ApiError ? tMaybe(`crm.error.${e.code}`, e.message) : String(e));

/** One write at a time, with its refusal shown until the next try. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

function ActionError(props: { error: string | null }) {
  return props.error ? (
    <p class="form-error" role="alert" data-testid="crm-error">
      {props.error}
    </p>
  ) : null;
}

/** A card's load: a missing card (404, or an id that is no id) and someone else's card (403) by code. */
function CardLoad<T>(props: { load: Load<T> & { reload(): void }; children(data: T): ComponentChild }) {
  const l = props.load;
  if (l.status === 'loading') return <Loading />;
  if (l.status === 'ok') return <>{props.children(l.data)}</>;
  const code = l.status === 'unavailable' ? 'NOT_FOUND' : l.status === 'error' && l.error.code === 'VALIDATION_FAILED' ? 'NOT_FOUND' : l.status === 'forbidden' ? 'FORBIDDEN' : null;
  if (code) {
    return (
      <Card>
        <p class="state state-error" data-testid="crm-card-error" data-code={code}>
          {t(code === 'FORBIDDEN' ? 'crm.error.FORBIDDEN' : 'crm.error.NOT_FOUND')}
        </p>
      </Card>
    );
  }
  return l.status === 'error' ? <ErrorBox message={l.error.message} code={l.error.code} onRetry={l.reload} /> : null;
}

function OwnerName(props: { ownerUserId: string | null; ownerName?: string | null }) {
  if (!props.ownerUserId) return <>{t('crm.ownerNone')}</>;
  return <>{props.ownerName ?? '—'}</>;
}

function LeadStatusSelect(props: { lead: Lead; onChanged(): void }) {
  const act = useAction();
  const change = (status: string) =>
    act.run(() => api(`/api/leads/${props.lead.id}`, { method: 'PATCH', body: { status } })).then((ok) => ok && props.onChanged());
  return (
    <span class="lead-status">
      <select class="select" aria-label={t('crm.status')} value={props.lead.status} disabled={act.busy} onChange={(e) => void change(e.currentTarget.value)}>
        {LEAD_STATUSES.map((s) => (
          <option key={s} value={s}>
            {tMaybe(`crm.leadStatus.${s}`, s)}
          </option>
        ))}
      </select>
      <ActionError error={act.error} />
    </span>
  );
}

function WorkedBadge(props: { lead: Lead }) {
  const f = useFormat();
  return props.lead.firstWorkAt ? (
    <span class="badge badge-worked" data-testid="lead-worked" data-worked="true">
      {t('crm.worked')} {f.dateTime(props.lead.firstWorkAt)}
    </span>
  ) : (
    <span class="badge badge-not_worked" data-testid="lead-worked" data-worked="false">
      {t('crm.notWorked')}
    </span>
  );
}

function Notes(props: { path: string; activities: readonly Activity[]; onAdded(): void }) {
  const f = useFormat();
  const [text, setText] = useState('');
  const act = useAction();
  const add = async (e: Event) => {
    e.preventDefault();
    if (await act.run(() => api(`${props.path}/notes`, { method: 'POST', body: { text } }))) {
      setText('');
      props.onAdded();
    }
  };
  return (
    <Card title={t('crm.notes')} testId="crm-notes">
      <form class="note-form" onSubmit={add}>
        <textarea class="note-text" value={text} placeholder={t('crm.notePlaceholder')} maxLength={5000} onInput={(e) => setText(e.currentTarget.value)} />
        <button type="submit" class="btn btn-primary" disabled={act.busy || !text.trim()}>
          {t('crm.addNote')}
        </button>
      </form>
      <ActionError error={act.error} />
      {props.activities.length === 0 ? (
        <p class="muted">{t('crm.noNotes')}</p>
      ) : (
        <ul class="crm-list activities">
          {props.activities.map((a) => (
            <li key={a.id} data-kind={a.kind}>
              <span class="muted">{f.dateTime(a.at)}</span> {a.title}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function DealRow(props: { deal: Deal; onChanged(d: Deal): void }) {
  const f = useFormat();
  const d = props.deal;
  const [stage, setStage] = useState(d.stage);
  const [amount, setAmount] = useState(String(d.amount));
  const [reason, setReason] = useState('');
  const act = useAction();
  const patch = (body: Record<string, unknown>) =>
    act.run(async () => props.onChanged(await api<Deal>(`/api/deals/${d.id}`, { method: 'PATCH', body })));
  return (
    <li class="deal" data-deal-id={d.id} data-status={d.status}>
      <div class="deal-head">
        <strong>{d.title}</strong> <span class="deal-amount">{f.money(d.amount)}</span>{' '}
        <span class={`badge deal-status deal-${d.status}`}>{tMaybe(`crm.dealStatus.${d.status}`, d.status)}</span>
        {d.lostReason && <span class="muted"> · {d.lostReason}</span>}
      </div>
      {d.status === 'open' && (
        <div class="deal-edit">
          <input class="select" aria-label={t('crm.stage')} value={stage} onInput={(e) => setStage(e.currentTarget.value)} />
          <input class="select" aria-label={t('crm.amount')} type="number" min="0" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
          <button type="button" class="btn btn-ghost deal-save" disabled={act.busy} onClick={() => void patch({ stage, amount: Number(amount) })}>
            {t('crm.save')}
          </button>
          <button type="button" class="btn btn-ghost deal-won" disabled={act.busy} onClick={() => void patch({ status: 'won' })}>
            {t('crm.won')}
          </button>
          <input class="select" aria-label={t('crm.lostReason')} placeholder={t('crm.lostReason')} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <button type="button" class="btn btn-ghost deal-lost" disabled={act.busy} onClick={() => void patch({ status: 'lost', lostReason: reason.trim() || null })}>
            {t('crm.lost')}
          </button>
        </div>
      )}
      <ActionError error={act.error} />
    </li>
  );
}

/** The server's open deals, overlaid with the deals created or changed on this page. */
function Deals(props: { deals: readonly Deal[]; owner: { contactId?: string; leadId?: string }; emptyText?: string }) {
  const [mine, setMine] = useState<Deal[]>([]);
  const [title, setTitle] = useState('');
  const [amount, setAmount] = useState('');
  const act = useAction();
  const put = (d: Deal) => setMine((xs) => [...xs.filter((x) => x.id !== d.id), d]);
  const shown = [...props.deals.map((d) => mine.find((m) => m.id === d.id) ?? d), ...mine.filter((m) => !props.deals.some((d) => d.id === m.id))];
  const create = async (e: Event) => {
    e.preventDefault();
    const body = { title, amount: amount === '' ? undefined : Number(amount), ...props.owner };
    if (await act.run(async () => put(await api<Deal>('/api/deals', { method: 'POST', body })))) {
      setTitle('');
      setAmount('');
    }
  };
  return (
    <Card title={t('crm.deals')} testId="crm-deals">
      {shown.length === 0 ? (
        props.emptyText && <p class="muted">{props.emptyText}</p>
      ) : (
        <ul class="crm-list deals-list">
          {shown.map((d) => (
            <DealRow key={d.id} deal={d} onChanged={put} />
          ))}
        </ul>
      )}
      <form class="deal-new" onSubmit={create}>
        <input class="select" aria-label={t('crm.dealTitle')} placeholder={t('crm.dealTitle')} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        <input class="select" aria-label={t('crm.amount')} placeholder={t('crm.amount')} type="number" min="0" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
        <button type="submit" class="btn btn-primary" disabled={act.busy || !title.trim()}>
          {t('crm.newDeal')}
        </button>
      </form>
      <ActionError error={act.error} />
    </Card>
  );
}

/** Calls with a play button (the player says so when a call has no recording) and, on a contact, "link to this card". */
function Calls(props: { calls: readonly CardCall[]; linkTo?: { entity: 'contact' | 'lead'; id: string } }) {
  const f = useFormat();
  const [playing, setPlaying] = useState<CardCall | null>(null);
  const [linked, setLinked] = useState<Record<string, boolean>>({});
  const act = useAction();
  const link = (callId: string) =>
    act.run(async () => {
      await api(`/api/calls/${encodeURIComponent(callId)}/links`, { method: 'POST', body: { entity: props.linkTo!.entity, entityId: props.linkTo!.id } });
      setLinked((m) => ({ ...m, [callId]: true }));
    });
  return (
    <Card title={t('crm.calls')} testId="crm-calls">
      {props.calls.length === 0 ? (
        <p class="muted">{t('crm.noCalls')}</p>
      ) : (
        <ul class="crm-list crm-calls">
          {props.calls.map((c) => (
            <li key={c.callId} data-call-id={c.callId}>
              <button type="button" class="btn btn-play" aria-label={t('calls.play')} onClick={() => setPlaying(c)}>
                ▶
              </button>{' '}
              {f.dateTime(c.at)}
              {c.outcome && <span class={`badge badge-${c.outcome}`}>{tMaybe(`outcome.${c.outcome}`, c.outcome)}</span>}
              {c.talkSeconds !== undefined && c.talkSeconds !== null && <span class="muted"> {f.duration(c.talkSeconds)}</span>}
              {props.linkTo &&
                (linked[c.callId] ? (
                  <span class="muted call-linked"> · {t('crm.linked')}</span>
                ) : (
                  <button type="button" class="btn btn-ghost call-link" disabled={act.busy} onClick={() => void link(c.callId)}>
                    {t('crm.link')}
                  </button>
                ))}
            </li>
          ))}
        </ul>
      )}
      <ActionError error={act.error} />
      {playing && <RecordingPlayer key={playing.callId} callId={playing.callId} onClose={() => setPlaying(null)} label={f.dateTime(playing.at)} />}
    </Card>
  );
}

function ContactCard(props: { id: string }) {
  const f = useFormat();
  const load = useApi<ContactCardData>(`/api/contacts/${encodeURIComponent(props.id)}`);
  return (
    <CardLoad load={load}>
      {({ contact: c, leads, openDeals, activities, lastCalls }) => (
        <>
          <PageHeader title={c.name} subtitle={c.company ?? t('crm.contact')} />
          <div class="grid-2">
            <Card title={t('crm.contact')} testId="crm-contact">
              <dl class="facts">
                <dt>{t('crm.company')}</dt>
                <dd class="crm-company">{c.company ?? '—'}</dd>
                <dt>{t('crm.phones')}</dt>
                <dd class="crm-phones">
                  {c.phones.map((p) => (
                    <div key={p.phone} class="phone">
                      {f.phone(p.phone)}
                      {p.ext ? ` ${p.ext}` : ''}
                    </div>
                  ))}
                </dd>
                <dt>{t('crm.email')}</dt>
                <dd>{c.email ?? '—'}</dd>
                <dt>{t('crm.owner')}</dt>
                <dd class="crm-owner">
                  <OwnerName ownerUserId={c.ownerUserId} ownerName={c.ownerName} />
                </dd>
              </dl>
            </Card>
            <Card title={t('crm.leads')} testId="crm-leads">
              {leads.length === 0 ? (
                <p class="muted">{t('crm.noLeads')}</p>
              ) : (
                <ul class="crm-list">
                  {leads.map((l) => (
                    <li key={l.id} data-lead-id={l.id}>
                      <a href={`#/crm/lead/${l.id}`}>{l.name}</a> <LeadStatusSelect lead={l} onChanged={load.reload} /> <WorkedBadge lead={l} />
                    </li>
                  ))}
                </ul>
              )}
            </Card>
          </div>
          <div class="grid-2">
            <Deals deals={openDeals} owner={{ contactId: c.id }} emptyText={t('crm.noDeals')} />
            <Notes path={`/api/contacts/${c.id}`} activities={activities} onAdded={load.reload} />
          </div>
          <Calls calls={lastCalls} linkTo={{ entity: 'contact', id: c.id }} />
        </>
      )}
    </CardLoad>
  );
}

function LeadCard(props: { id: string }) {
  const f = useFormat();
  const load = useApi<LeadCardData>(`/api/leads/${encodeURIComponent(props.id)}`);
  return (
    <CardLoad load={load}>
      {({ lead: l, deals, activities, calls }) => {
        // The call the lead came from first, then the calls linked to it.
        const ids = [...new Set([...(l.sourceCallId ? [l.sourceCallId] : []), ...calls.map((c) => c.callId)])];
        const at = (id: string) => calls.find((c) => c.callId === id)?.linkedAt ?? l.createdAt;
        return (
          <>
            <PageHeader title={l.name} subtitle={t('crm.lead')} />
            <div class="grid-2">
              <Card title={t('crm.lead')} testId="crm-lead">
                <dl class="facts">
                  <dt>{t('crm.phones')}</dt>
                  <dd class="phone crm-phones">{f.phone(l.phone)}</dd>
                  <dt>{t('crm.status')}</dt>
                  <dd>
                    <LeadStatusSelect lead={l} onChanged={load.reload} /> <WorkedBadge lead={l} />
                  </dd>
                  <dt>{t('crm.owner')}</dt>
                  <dd class="crm-owner">
                    <OwnerName ownerUserId={l.ownerUserId} ownerName={l.ownerName} />
                  </dd>
                  <dt>{t('crm.number')}</dt>
                  <dd class="phone">{f.phone(l.trackingNumber)}</dd>
                  <dt>{t('crm.created')}</dt>
                  <dd>{f.dateTime(l.createdAt)}</dd>
                </dl>
                {l.contactId && (
                  <a class="btn btn-ghost crm-open-contact" href={`#/crm/contact/${l.contactId}`}>
                    {t('crm.openContact')}
                  </a>
                )}
              </Card>
              <Notes path={`/api/leads/${l.id}`} activities={activities} onAdded={load.reload} />
            </div>
            <Deals deals={deals} owner={{ leadId: l.id, ...(l.contactId ? { contactId: l.contactId } : {}) }} />
            <Calls calls={ids.map((callId) => ({ callId, at: at(callId) }))} />
          </>
        );
      }}
    </CardLoad>
  );
}

/** `#/crm/phone/<number>` (the journal's link): the contact that has this number, if any. */
function PhoneCard(props: { phone: string }) {
  const load = useApi<{ items: Array<{ id: string }> }>('/api/contacts', { phone: props.phone });
  const id = load.status === 'ok' ? load.data.items[0]?.id : undefined;
  useEffect(() => {
    if (id) window.location.replace(`#/crm/contact/${id}`);
  }, [id]);
  if (load.status === 'ok' && !id) {
    return (
      <Card>
        <p class="muted" data-testid="crm-no-card">
          {t('crm.noCard')}
        </p>
      </Card>
    );
  }
  return load.status === 'loading' || id ? <Loading /> : <CardLoad load={load}>{() => null}</CardLoad>;
}

export default function CrmPage(props: PageProps) {
  const [kind, ...tail] = props.rest.split('/');
  const id = tail.join('/');
  // Keyed by the card: another card starts with fresh forms.
  if (kind === 'contact') return <ContactCard key={id} id={id} />;
  if (kind === 'lead') return <LeadCard key={id} id={id} />;
  if (kind === 'phone') return <PhoneCard key={id} phone={id} />;
  return <CardLoad load={{ status: 'unavailable', reload: () => undefined }}>{() => null}</CardLoad>;
}
