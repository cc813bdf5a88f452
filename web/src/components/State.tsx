/**
 * The states a panel can be in besides "here are the figures". "Not available yet" is what a
 * page shows when its API is not on this server: an honest gap, never placeholder numbers.
 */
import type { ComponentChild } from 'preact';
import type { Load } from '../hooks';
import { t } from '../i18n';

export function Loading() {
  return (
    <div class="state state-loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {t('state.loading')}
    </div>
  );
}

export function Unavailable(props: { what?: string }) {
  return (
    <div class="state state-unavailable" data-state="unavailable">
      <strong>{t('state.unavailable.title')}</strong>
      <p>{props.what ? t('state.unavailable.what', { what: props.what }) : t('state.unavailable.body')}</p>
    </div>
  );
}

export function ErrorBox(props: { message: string; code?: string; onRetry?(): void }) {
  return (
    <div class="state state-error" role="alert" data-state="error">
      <strong>{t('state.error')}</strong>
      <p>
        {props.message}
        {props.code && <code class="muted"> {props.code}</code>}
      </p>
      {props.onRetry && (
        <button class="btn btn-ghost" type="button" onClick={props.onRetry}>
          {t('state.retry')}
        </button>
      )}
    </div>
  );
}

/** Renders `children(data)` once loaded, else the matching state. */
export function Async<T>(props: { load: Load<T> & { reload?(): void }; what?: string; children(data: T): ComponentChild }) {
  const l = props.load;
  switch (l.status) {
    case 'loading':
      return <Loading />;
    case 'unavailable':
      return <Unavailable what={props.what} />;
    case 'forbidden':
      return <ErrorBox message={t('state.forbidden')} code={l.error.code} />;
    case 'error':
      return <ErrorBox message={l.error.message} code={l.error.code} onRetry={l.reload} />;
    case 'ok':
      return <>{props.children(l.data)}</>;
  }
}
