/**
 * The sales head's overdue checkpoints (crm-bridge/sla): leads nobody worked in time and
 * overdue tasks, unread first-hand from GET /api/notifications, each marked read with one
 * click. A lead's notification opens its card.
 */
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Card } from '../components/Layout';
import { Async } from '../components/State';
import { useApi } from '../hooks';
import { t, tMaybe } from '../i18n';
import { useFormat } from '../session';

interface Notification {
  id: string;
  kind: string;
  entity: string;
  entityId: string;
  title: string;
  createdAt: string;
}

export function SlaNotifications() {
  const f = useFormat();
  const load = useApi<{ items: Notification[] }>('/api/notifications', { unread: 'true', limit: 20 });
  const [error, setError] = useState<string | null>(null);
  const read = (id: string) =>
    api(`/api/notifications/${id}/read`, { method: 'POST' }).then(load.reload, (e: unknown) => setError(e instanceof ApiError ? e.message : String(e)));
  return (
    <Card title={t('sla.title')} testId="sla-notifications">
      <Async load={load} what={t('sla.title')}>
        {({ items }) =>
          items.length === 0 ? (
            <p class="muted">{t('sla.none')}</p>
          ) : (
            <ul class="crm-list">
              {items.map((n) => (
                <li key={n.id} data-notification-id={n.id} data-kind={n.kind}>
                  <span class="badge badge-not_worked">{tMaybe(`sla.kind.${n.kind}`, n.kind)}</span>{' '}
                  {n.entity === 'lead' ? <a href={`#/crm/lead/${n.entityId}`}>{n.title}</a> : n.title} <span class="muted">{f.dateTime(n.createdAt)}</span>{' '}
                  <button type="button" class="btn btn-ghost sla-read" onClick={() => void read(n.id)}>
                    {t('sla.read')}
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Async>
      {error && <p class="form-error">{error}</p>}
    </Card>
  );
}
