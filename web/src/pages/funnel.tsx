/**
 * The loss funnel (sales head): where calls are lost before the first contact, in calls and
 * in money, for a period. Figures come from GET /api/reports/funnel as they are.
 */
import { FunnelChart } from '../components/FunnelChart';
import { Card, KpiRow, PageHeader } from '../components/Layout';
import { PeriodPicker, usePeriod } from '../components/PeriodPicker';
import { Async } from '../components/State';
import { Table, type Column } from '../components/Table';
import { useApi } from '../hooks';
import { t, tMaybe } from '../i18n';
import { useFormat } from '../session';
import { SlaNotifications } from './crm-notifications';

interface Stage {
  stage: string;
  count: number;
  lost: number;
  lostShare: number | null;
  lostMoney: number | null;
}
interface FunnelReport {
  conversion: number | null;
  averageCheck: number | null;
  slices: Array<{ key: string | null; stages: Stage[]; shortCalls: number; missedReasons: Record<string, number> }>;
}

export default function FunnelPage() {
  const [period, setPeriod, tz] = usePeriod('30d');
  const load = useApi<FunnelReport>('/api/reports/funnel', period);
  const f = useFormat();

  const columns: Column<Stage>[] = [
    { key: 'stage', label: t('funnel.stage'), value: (s) => s.stage, render: (s) => tMaybe(`stage.${s.stage}`, s.stage), sortable: false },
    { key: 'count', label: t('funnel.calls'), value: (s) => s.count, render: (s) => f.int(s.count), align: 'right', sortable: false },
    { key: 'lost', label: t('funnel.lost'), value: (s) => s.lost, render: (s) => (s.stage === 'total' ? '' : f.int(s.lost)), align: 'right', sortable: false },
    { key: 'lostShare', label: t('funnel.lostShare'), value: (s) => s.lostShare, render: (s) => (s.stage === 'total' ? '' : f.percent(s.lostShare)), align: 'right', sortable: false },
    { key: 'lostMoney', label: t('funnel.lostMoney'), value: (s) => s.lostMoney, render: (s) => (s.stage === 'total' || s.stage === 'won' ? '' : f.money(s.lostMoney)), align: 'right', sortable: false },
  ];

  return (
    <>
      <PageHeader title={t('nav.funnel')} subtitle={t('funnel.subtitle')} actions={<PeriodPicker value={period} onChange={setPeriod} timeZone={tz} />} />
      <SlaNotifications />
      <Async load={load}>
        {(r) => {
          const all = r.slices[0];
          if (!all) return <Card><p class="muted" data-testid="funnel-empty">{t('funnel.empty')}</p></Card>;
          const by = Object.fromEntries(all.stages.map((s) => [s.stage, s]));
          const total = by.total?.count ?? 0;
          const lostBefore = total - (by.answered?.count ?? 0);
          const lostMoney = all.stages.reduce((a, s) => a + (s.stage !== 'won' && s.lostMoney ? s.lostMoney : 0), 0);
          return (
            <>
              <KpiRow
                items={[
                  { label: t('funnel.kpi.calls'), value: f.int(total) },
                  { label: t('funnel.kpi.lostBefore'), value: f.int(lostBefore), hint: f.percent(total ? lostBefore / total : null), tone: lostBefore > 0 ? 'bad' : undefined },
                  { label: t('funnel.kpi.lostMoney'), value: f.money(lostMoney), tone: lostMoney > 0 ? 'bad' : undefined },
                  { label: t('funnel.kpi.conversion'), value: f.percent(r.conversion) },
                  { label: t('funnel.kpi.averageCheck'), value: f.money(r.averageCheck) },
                ]}
              />
              <div class="grid-2">
                <Card title={t('funnel.chart')}>
                  <FunnelChart stages={all.stages.map((s) => ({ label: tMaybe(`stage.${s.stage}`, s.stage), value: s.count }))} format={f.int} />
                </Card>
                <Card title={t('funnel.table')}>
                  <Table columns={columns} rows={all.stages} rowKey={(s) => s.stage} testId="funnel-table" csvName={`funnel-${period.from}-${period.to}`} />
                  <p class="muted small">{t('funnel.shortCalls', { n: f.int(all.shortCalls) })}</p>
                </Card>
              </div>
            </>
          );
        }}
      </Async>
    </>
  );
}
