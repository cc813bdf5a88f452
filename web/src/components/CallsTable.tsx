/**
 * The call journal table, shared by the sales head's journal and the manager's "my calls":
 * time, who called, which number and channel, the outcome, who answered, waits, and a play
 * button on every recorded row that starts the recording in one click, with its waveform
 * (RecordingPlayer; the server checks who may listen).
 */
import { useState } from 'preact/hooks';
import { t, tMaybe } from '../i18n';
import { useFormat } from '../session';
import { RecordingPlayer } from './RecordingPlayer';
import { Table, type Column } from './Table';

export interface CallRow {
  id: string;
  arrivedAt: string;
  caller: string | null;
  trackingNumber: string | null;
  channel: string | null;
  outcome: string | null;
  reason: string | null;
  manager: string | null;
  talkSeconds: number | null;
  waitSeconds: number | null;
  knownClient: boolean | null;
  hasRecording: boolean;
}

export function CallsTable(props: { calls: readonly CallRow[]; csvName?: string; showManager?: boolean }) {
  const f = useFormat();
  const [playing, setPlaying] = useState<CallRow | null>(null);

  const columns: Column<CallRow>[] = [
    { key: 'arrivedAt', label: t('calls.time'), value: (c) => c.arrivedAt, render: (c) => f.dateTime(c.arrivedAt) },
    {
      key: 'caller',
      label: t('calls.caller'),
      value: (c) => c.caller,
      // A known client's number opens their card (pages/crm.tsx finds it by the number).
      render: (c) =>
        c.knownClient && c.caller ? (
          <a class="phone" href={`#/crm/phone/${encodeURIComponent(c.caller)}`}>
            {f.phone(c.caller)}
          </a>
        ) : (
          <span class="phone">{f.phone(c.caller)}</span>
        ),
    },
    { key: 'client', label: t('calls.client'), value: (c) => c.knownClient, render: (c) => (c.knownClient === null ? '—' : c.knownClient ? t('calls.known') : t('calls.new')) },
    { key: 'trackingNumber', label: t('calls.number'), value: (c) => c.trackingNumber, render: (c) => <span class="phone">{f.phone(c.trackingNumber)}</span> },
    { key: 'channel', label: t('calls.channel'), value: (c) => c.channel },
    {
      key: 'outcome',
      label: t('calls.outcome'),
      value: (c) => c.outcome,
      render: (c) => (
        <span class={`badge badge-${c.outcome ?? 'none'}`}>
          {c.outcome ? tMaybe(`outcome.${c.outcome}`, c.outcome) : '—'}
          {c.reason ? ` · ${tMaybe(`reason.${c.reason}`, c.reason)}` : ''}
        </span>
      ),
    },
    ...(props.showManager === false ? [] : [{ key: 'manager', label: t('calls.manager'), value: (c: CallRow) => c.manager }]),
    { key: 'waitSeconds', label: t('calls.wait'), value: (c) => c.waitSeconds, render: (c) => f.duration(c.waitSeconds), align: 'right' },
    { key: 'talkSeconds', label: t('calls.talk'), value: (c) => c.talkSeconds, render: (c) => f.duration(c.talkSeconds), align: 'right' },
    {
      key: 'play',
      label: t('calls.recording'),
      value: (c) => c.hasRecording,
      sortable: false,
      render: (c) =>
        c.hasRecording ? (
          <button
            type="button"
            class="btn btn-play"
            aria-label={t('calls.play')}
            onClick={() => setPlaying(c)}
          >
            ▶
          </button>
        ) : (
          <span class="muted">—</span>
        ),
    },
  ];

  return (
    <>
      <Table columns={columns} rows={props.calls} rowKey={(c) => c.id} csvName={props.csvName} testId="calls-table" empty={t('calls.empty')} />
      {playing && (
        <RecordingPlayer
          key={playing.id}
          callId={playing.id}
          onClose={() => setPlaying(null)}
          label={
            <>
              {f.dateTime(playing.arrivedAt)} · <span class="phone">{f.phone(playing.caller)}</span>
              {playing.manager ? ` → ${playing.manager}` : ''}
            </>
          }
        />
      )}
    </>
  );
}
