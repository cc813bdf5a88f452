/**
 * Channels (marketer): per advertising channel, calls, unique and new callers, leads, deals,
 * revenue, average check, cost per lead and ROMI, with bars for calls and average check, the
 * comparison the seeds ask for ("many small buyers from the billboard, fewer but bigger from
 * search"). GET /api/reports/channels.
 */
import { BarChart } from '../components/BarChart';
import { Card, PageHeader } from '../components/Layout';
import { PeriodPicker, usePeriod } from '../components/PeriodPicker';
import { Async } from '../components/State';
import { Table, type Column } from '../components/Table';
import { useApi } from '../hooks';
import { t } from '../i18n';
import { useFormat } from '../session';

interface ChannelRow {
  channelId: string;
  channel: string;
  calls: number;
  uniqueCallers: number;
  newCallers: number;
  answered: number;
  leads: number;
  deals: number;
  revenue: number;
  averageCheck: number | null;
  costPerLead: number | null;
  romi: number | null;
  cost: number;
}

export default function ChannelsPage() {
  const [period, setPeriod, tz] = usePeriod('30d');
  const load = useApi<{ channels: ChannelRow[] }>('/api/reports/channels', period);
  const f = useFormat();
  const int = (key: keyof ChannelRow, label: string): Column<ChannelRow> => ({ key, label, value: (r) => r[key] as number, render: (r) => f.int(r[key] as number), align: 'right' });
  const money = (key: keyof ChannelRow, label: string): Column<ChannelRow> => ({ key, label, value: (r) => r[key] as number | null, render: (r) => f.money(r[key] as number | null), align: 'right' });

  const columns: Column<ChannelRow>[] = [
    { key: 'channel', label: t('channels.channel'), value: (r) => r.channel },
    int('calls', t('channels.calls')),
    int('uniqueCallers', t('channels.unique')),
    int('newCallers', t('channels.newCallers')),
    int('answered', t('channels.answered')),
    int('leads', t('channels.leads')),
    int('deals', t('channels.deals')),
    money('revenue', t('channels.revenue')),
    money('averageCheck', t('channels.averageCheck')),
    money('cost', t('channels.cost')),
    money('costPerLead', t('channels.costPerLead')),
    { key: 'romi', label: t('channels.romi'), value: (r) => r.romi, render: (r) => f.percent(r.romi), align: 'right' },
  ];

  return (
    <>
      <PageHeader title={t('nav.channels')} subtitle={t('channels.subtitle')} actions={<PeriodPicker value={period} onChange={setPeriod} timeZone={tz} />} />
      <Async load={load}>
        {({ channels }) => (
          <>
            {channels.length > 0 && (
              <div class="grid-2">
                <Card title={t('channels.chartCalls')}>
                  <BarChart labels={channels.map((c) => c.channel)} series={[{ label: t('channels.calls'), data: channels.map((c) => c.calls) }]} format={f.int} />
                </Card>
                <Card title={t('channels.chartCheck')}>
                  <BarChart
                    labels={channels.map((c) => c.channel)}
                    series={[{ label: t('channels.averageCheck'), data: channels.map((c) => c.averageCheck), color: '#12b76a' }]}
                    format={f.money}
                  />
                </Card>
              </div>
            )}
            <Card>
              <Table columns={columns} rows={channels} rowKey={(r) => r.channelId} initialSort={{ key: 'calls', dir: 'desc' }} csvName={`channels-${period.from}-${period.to}`} testId="channels-table" />
            </Card>
          </>
        )}
      </Async>
    </>
  );
}
