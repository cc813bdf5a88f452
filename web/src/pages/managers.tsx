/**
 * Managers compared fairly (sales head): calls answered, split into new and known clients,
 * next to the leads they logged, calls that went to the wrong manager, and missed-call
 * recovery. GET /api/reports/managers.
 */
import { BarChart } from '../components/BarChart';
import { Card, PageHeader } from '../components/Layout';
import { PeriodPicker, usePeriod } from '../components/PeriodPicker';
import { Async } from '../components/State';
import { Table, type Column } from '../components/Table';
import { useApi } from '../hooks';
import { t } from '../i18n';
import { useFormat } from '../session';

interface ManagerRow {
  managerId: string;
  name: string;
  ext: string | null;
  calls: number;
  knownClients: number;
  newClients: number;
  leads: number;
  unlogged: number;
  talkSeconds: number;
  foreignAnswered: number;
  ownClientsElsewhere: number;
  missedOwnClients: number;
  recovered: number;
  avgRecoveryMinutes: number | null;
}

export default function ManagersPage() {
  const [period, setPeriod, tz] = usePeriod('7d');
  const load = useApi<{ managers: ManagerRow[] }>('/api/reports/managers', period);
  const f = useFormat();
  const n = (key: keyof ManagerRow, label: string): Column<ManagerRow> => ({ key, label, value: (r) => r[key] as number, render: (r) => f.int(r[key] as number), align: 'right' });

  const columns: Column<ManagerRow>[] = [
    { key: 'name', label: t('managers.name'), value: (r) => r.name },
    { key: 'ext', label: t('managers.ext'), value: (r) => r.ext },
    n('calls', t('managers.calls')),
    n('newClients', t('managers.new')),
    n('knownClients', t('managers.known')),
    n('leads', t('managers.leads')),
    n('unlogged', t('managers.unlogged')),
    n('foreignAnswered', t('managers.foreign')),
    n('ownClientsElsewhere', t('managers.elsewhere')),
    n('missedOwnClients', t('managers.missed')),
    n('recovered', t('managers.recovered')),
    { key: 'avgRecoveryMinutes', label: t('managers.recoveryMin'), value: (r) => r.avgRecoveryMinutes, render: (r) => f.decimal(r.avgRecoveryMinutes), align: 'right' },
    { key: 'talkSeconds', label: t('managers.talk'), value: (r) => r.talkSeconds, render: (r) => f.duration(r.talkSeconds), align: 'right' },
  ];

  return (
    <>
      <PageHeader title={t('nav.managers')} subtitle={t('managers.subtitle')} actions={<PeriodPicker value={period} onChange={setPeriod} timeZone={tz} />} />
      <Async load={load}>
        {({ managers }) => (
          <>
            {managers.length > 0 && (
              <Card title={t('managers.chart')}>
                <BarChart
                  labels={managers.map((m) => m.name)}
                  series={[
                    { label: t('managers.new'), data: managers.map((m) => m.newClients) },
                    { label: t('managers.known'), data: managers.map((m) => m.knownClients) },
                    { label: t('managers.leads'), data: managers.map((m) => m.leads) },
                  ]}
                  format={f.int}
                />
              </Card>
            )}
            <Card>
              <Table columns={columns} rows={managers} rowKey={(r) => r.managerId} initialSort={{ key: 'calls', dir: 'desc' }} csvName={`managers-${period.from}-${period.to}`} testId="managers-table" />
            </Card>
          </>
        )}
      </Async>
    </>
  );
}
