/** Sign in with email and password (POST /api/auth/login sets the session cookie). */
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { t } from '../i18n';
import { LangSwitch } from '../components/LangSwitch';

export function LoginPage(props: { onSignedIn(): void; expired?: boolean }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('/api/auth/login', { method: 'POST', body: { email, password }, expect401: true });
      props.onSignedIn();
    } catch (err) {
      const code = err instanceof ApiError ? err.code : '';
      setError(code === 'LOGIN_FAILED' ? t('login.failed') : code === 'VALIDATION_FAILED' ? t('login.invalid') : t('login.unreachable'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form class="login-card" onSubmit={submit} data-testid="login-form">
        <div class="login-top">
          <div class="brand brand-dark">
            <span class="brand-mark" aria-hidden="true" />
            callpulse
          </div>
          <LangSwitch />
        </div>
        <h1>{t('login.title')}</h1>
        <p class="muted">{t('login.subtitle')}</p>
        {props.expired && !error && <p class="notice">{t('login.expired')}</p>}
        <label class="field">
          <span>{t('login.email')}</span>
          <input name="email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t('login.password')}</span>
          <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button class="btn btn-primary btn-wide" type="submit" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </div>
  );
}
