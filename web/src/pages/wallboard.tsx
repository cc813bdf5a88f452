/**
 * The wallboard (sales head): callers waiting now, agents' states, today's figures, updated
 * live. Its API belongs to analytics and is not on every server yet; until it is, the page
 * says so. When it exists: GET the snapshot, then each WebSocket message is a new snapshot.
 */
import { useEffect, useState } from 'preact/hooks';
import { Card, KpiRow, PageHeader } from '../components/Layout';
import { Async } from '../components/State';
import { Table, type Column } from '../components/Table';
import { useApi } from '../hooks';
import { t, tMaybe } from '../i18n';
import { connectLive, type LiveStatus } from '../live';
import { useFormat } from '../session';
import { LIVE_API } from './endpoints';

interface Agent {
  userId?: string;
  name: string;
  ext?: string | null;
  state: string;
  sinceSeconds?: number | null;
}
interface Wallboard {
  waiting?: number;
  longestWaitSeconds?: number | null;
  answeredToday?: number;
  missedToday?: number;
  serviceLevel20s?: number | null;
  agents?: Agent[];
}

export default function WallboardPage() {
  const load = useApi<Wallboard>(LIVE_API.wallboard);
  const [live, setLive] = useState<Wallboard | null>(null);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const f = useFormat();
  const available = load.status === 'ok';

  useEffect(() => {
    if (!available) return;
    const h = connectLive<Wallboard>(LIVE_API.wallboardLive, { onMessage: setLive, onStatus: setStatus });
    return () => h.close();
  }, [available]);

  const agentColumns: Column<Agent>[] = [
    { key: 'name', label: t('wallboard.agent'), value: (a) => a.name },
    { key: 'ext', label: t('managers.ext'), value: (a) => a.ext ?? null },
    { key: 'state', label: t('wallboard.state'), value: (a) => a.state, render: (a) => <span class={`badge badge-agent-${a.state}`}>{tMaybe(`agent.${a.state}`, a.state)}</span> },
    { key: 'since', label: t('wallboard.since'), value: (a) => a.sinceSeconds ?? null, render: (a) => f.duration(a.sinceSeconds), align: 'right' },
  ];

  return (
    <>
      <PageHeader
        title={t('nav.wallboard')}
        subtitle={t('wallboard.subtitle')}
        actions={available ? <span class={`live live-${status}`}>{t(`live.${status}`)}</span> : undefined}
      />
      <Async load={load} what={t('nav.wallboard')}>
        {(snapshot) => {
          const b = live ?? snapshot;
          return (
            <>
              <KpiRow
                items={[
                  { label: t('wallboard.waiting'), value: f.int(b.waiting), tone: (b.waiting ?? 0) > 0 ? 'bad' : undefined },
                  { label: t('wallboard.longestWait'), value: f.duration(b.longestWaitSeconds) },
                  { label: t('wallboard.answered'), value: f.int(b.answeredToday) },
                  { label: t('wallboard.missed'), value: f.int(b.missedToday) },
                  { label: t('wallboard.serviceLevel'), value: f.percent(b.serviceLevel20s) },
                ]}
              />
              <Card title={t('wallboard.agents')}>
                <Table columns={agentColumns} rows={b.agents ?? []} rowKey={(a, i) => a.userId ?? `${a.name}-${i}`} />
              </Card>
            </>
          );
        }}
      </Async>
    </>
  );
}
