/**
 * Configuration (admin): what the router works from, one tab per entity of the admin API
 * (`GET /api/<entity>`). Read-only tables for now; ids are shown as the names they refer to.
 */
import type { ComponentChild } from 'preact';
import { Card, PageHeader } from '../components/Layout';
import { Async } from '../components/State';
import { Table, type Column } from '../components/Table';
import type { Formatter } from '../format';
import { useApi } from '../hooks';
import { t, tMaybe, type Key } from '../i18n';
import { navigate } from '../router';
import { useFormat } from '../session';
import type { PageProps } from './index';

type Row = Record<string, unknown>;
type Names = Map<string, string>;
interface Ctx {
  f: Formatter;
  channels: Names;
  users: Names;
  queues: Names;
}

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
const num = (v: unknown) => (typeof v === 'number' ? v : null);
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A column over one field of the row. */
function col(key: string, label: Key, render?: (r: Row, c: Ctx) => ComponentChild, opts: { align?: 'right'; value?: (r: Row) => string | number | boolean | null } = {}) {
  return (c: Ctx): Column<Row> => ({
    key,
    label: t(label),
    value: opts.value ?? ((r) => (r[key] !== null && typeof r[key] === 'object' ? JSON.stringify(r[key]) : (r[key] as string | number | boolean | null | undefined))),
    render: render ? (r) => render(r, c) : undefined,
    align: opts.align,
  });
}

const name = (names: keyof Omit<Ctx, 'f'>, key: string) => (r: Row, c: Ctx) => {
  const id = str(r[key]);
  return id ? (c[names].get(id) ?? id.slice(0, 8)) : '—';
};
const yesNo = (key: string) => (r: Row) => (r[key] ? t('common.yes') : t('common.no'));
const created = col('createdAt', 'config.created', (r, c) => c.f.date(str(r.createdAt)));

interface Tab {
  id: string;
  title: Key;
  path: string;
  columns: Array<(c: Ctx) => Column<Row>>;
}

const TABS: readonly Tab[] = [
  {
    id: 'tracking-numbers',
    title: 'config.trackingNumbers',
    path: '/api/tracking-numbers',
    columns: [
      col('number', 'config.number', (r, c) => <span class="phone">{c.f.phone(str(r.number))}</span>),
      col('label', 'config.label', (r) => str(r.label) ?? '—'),
      col('channelId', 'calls.channel', name('channels', 'channelId')),
      col('tollFree', 'config.tollFree', yesNo('tollFree')),
      created,
    ],
  },
  {
    id: 'channels',
    title: 'config.channels',
    path: '/api/channels',
    columns: [
      col('name', 'config.name'),
      col('kind', 'config.kind', (r) => tMaybe(`kind.${str(r.kind)}`, str(r.kind) ?? '—')),
      col('monthlyCost', 'config.monthlyCost', (r, c) => c.f.money(num(r.monthlyCost)), { align: 'right' }),
      created,
    ],
  },
  {
    id: 'campaigns',
    title: 'config.campaigns',
    path: '/api/campaigns',
    columns: [
      col('name', 'config.name'),
      col('channelId', 'calls.channel', name('channels', 'channelId')),
      col('monthlyCost', 'config.monthlyCost', (r, c) => c.f.money(num(r.monthlyCost)), { align: 'right' }),
      col('startsOn', 'config.startsOn', (r, c) => c.f.date(str(r.startsOn))),
      col('endsOn', 'config.endsOn', (r, c) => c.f.date(str(r.endsOn))),
    ],
  },
  {
    id: 'schedules',
    title: 'config.schedules',
    path: '/api/schedules',
    columns: [
      col('name', 'config.name'),
      col('timezone', 'config.timezone'),
      col('weekly', 'config.hours', (r) => {
        const w = (r.weekly ?? {}) as Record<string, string[] | undefined>;
        const open = DAYS.filter((d) => w[d]?.length).map((d) => `${t(`day.${d}`)} ${w[d]!.join(', ')}`);
        return open.length ? open.join('; ') : t('config.closed');
      }),
      col('holidays', 'config.holidays', (r) => String(Array.isArray(r.holidays) ? r.holidays.length : 0), { align: 'right', value: (r) => (Array.isArray(r.holidays) ? r.holidays.length : 0) }),
    ],
  },
  {
    id: 'ivr-menus',
    title: 'config.ivr',
    path: '/api/ivr-menus',
    columns: [
      col('name', 'config.name'),
      col('document', 'config.keys', (r) => Object.keys(((r.document as Row | null)?.options ?? {}) as Row).sort().join(' · ') || '—'),
      col('updatedAt', 'config.updated', (r, c) => c.f.dateTime(str(r.updatedAt))),
    ],
  },
  {
    id: 'queues',
    title: 'config.queues',
    path: '/api/queues',
    columns: [
      col('name', 'config.name'),
      col('strategy', 'config.strategy', (r) => tMaybe(`strategy.${str(r.strategy)}`, str(r.strategy) ?? '—')),
      col('ringSeconds', 'config.ringSeconds', undefined, { align: 'right' }),
      col('maxWaitSeconds', 'config.maxWait', (r, c) => c.f.duration(num(r.maxWaitSeconds)), { align: 'right' }),
      col('overflow', 'config.overflow', (r, c) => {
        const o = (r.overflow ?? {}) as { kind?: string; queueId?: string };
        return o.kind === 'queue' ? `${t('overflow.queue')}: ${c.queues.get(o.queueId ?? '') ?? '—'}` : tMaybe(`overflow.${o.kind}`, o.kind ?? '—');
      }),
      col('members', 'config.members', (r, c) => ((r.members ?? []) as Array<{ userId: string }>).map((m) => c.users.get(m.userId) ?? '?').join(', ') || '—'),
    ],
  },
  {
    id: 'users',
    title: 'config.users',
    path: '/api/users',
    columns: [
      col('name', 'config.name'),
      col('email', 'config.email'),
      col('role', 'config.role', (r) => tMaybe(`role.${str(r.role)}`, str(r.role) ?? '—')),
      col('ext', 'managers.ext', (r) => str(r.ext) ?? '—'),
      col('active', 'config.active', yesNo('active')),
    ],
  },
];

function names(load: { status: string; data?: { items: Row[] } }): Names {
  return new Map(load.status === 'ok' && load.data ? load.data.items.map((r) => [String(r.id), String(r.name)]) : []);
}

export default function ConfigPage(props: PageProps) {
  const tab = TABS.find((x) => x.id === props.rest) ?? TABS[0]!;
  const f = useFormat();
  const list = useApi<{ items: Row[]; total: number }>(tab.path, { limit: 500 });
  // Ids in one table are names in another; these lists are small (one account's config).
  const channels = useApi<{ items: Row[] }>('/api/channels', { limit: 500 });
  const users = useApi<{ items: Row[] }>('/api/users', { limit: 500 });
  const queues = useApi<{ items: Row[] }>('/api/queues', { limit: 500 });
  const ctx: Ctx = { f, channels: names(channels), users: names(users), queues: names(queues) };

  return (
    <>
      <PageHeader title={t('nav.config')} subtitle={t('config.subtitle')} />
      <nav class="tabs" aria-label={t('nav.config')}>
        {TABS.map((x) => (
          <button key={x.id} type="button" class={x.id === tab.id ? 'on' : ''} aria-current={x.id === tab.id ? 'page' : undefined} onClick={() => navigate('config', x.id)}>
            {t(x.title)}
          </button>
        ))}
      </nav>
      <Card testId={`config-${tab.id}`}>
        <Async load={list} what={t(tab.title)}>
          {({ items, total }) => (
            <>
              <Table columns={tab.columns.map((c) => c(ctx))} rows={items} rowKey={(r) => String(r.id)} csvName={tab.id} />
              {total > items.length && <p class="muted small">{t('config.more', { shown: items.length, total })}</p>}
            </>
          )}
        </Async>
      </Card>
    </>
  );
}
