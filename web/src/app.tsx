/**
 * The root: find out who is signed in (GET /api/auth/me), show the login page or the shell,
 * and drop back to the login page whenever the server says the session is gone (any 401).
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, setUnauthorizedHandler } from './api';
import { Loading, ErrorBox } from './components/State';
import { getLang, setLang as storeLang, t, type Lang } from './i18n';
import { LoginPage } from './pages/login';
import { DEFAULT_ACCOUNT, LangContext, SessionContext, type AccountFacts, type Me, type Session } from './session';
import { Shell } from './shell';

type Auth =
  | { status: 'checking' }
  | { status: 'anon'; expired: boolean }
  | { status: 'in'; me: Me; account: AccountFacts }
  | { status: 'down'; message: string };

async function loadAccount(me: Me): Promise<AccountFacts> {
  // Managers may not read the account; they see money in the default currency.
  if (me.role === 'manager') return DEFAULT_ACCOUNT;
  try {
    const a = await api<Partial<AccountFacts>>('/api/account');
    return { currency: a.currency || DEFAULT_ACCOUNT.currency, timezone: a.timezone || DEFAULT_ACCOUNT.timezone, locale: a.locale || DEFAULT_ACCOUNT.locale };
  } catch {
    return DEFAULT_ACCOUNT;
  }
}

export function App() {
  const [auth, setAuth] = useState<Auth>({ status: 'checking' });
  const [lang, setLangState] = useState<Lang>(getLang());

  const setLang = useCallback((l: Lang) => {
    storeLang(l);
    setLangState(l);
  }, []);

  const check = useCallback(async () => {
    try {
      const me = await api<Me>('/api/auth/me', { expect401: true });
      setAuth({ status: 'in', me, account: await loadAccount(me) });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setAuth({ status: 'anon', expired: false });
      else setAuth({ status: 'down', message: (e as Error).message });
    }
  }, []);

  useEffect(() => {
    document.documentElement.lang = getLang();
    setUnauthorizedHandler(() => setAuth({ status: 'anon', expired: true }));
    void check();
    return () => setUnauthorizedHandler(null);
  }, [check]);

  const logout = useCallback(async () => {
    try {
      await api('/api/auth/logout', { method: 'POST', expect401: true });
    } finally {
      setAuth({ status: 'anon', expired: false });
      window.location.hash = '';
    }
  }, []);

  const session = useMemo<Session | null>(() => (auth.status === 'in' ? { me: auth.me, account: auth.account, logout: () => void logout() } : null), [auth, logout]);
  const langCtx = useMemo(() => ({ lang, setLang }), [lang, setLang]);

  let body;
  if (auth.status === 'checking') body = <Loading />;
  else if (auth.status === 'down') body = <div class="main"><ErrorBox message={`${t('state.down')} (${auth.message})`} onRetry={() => void check()} /></div>;
  else if (auth.status === 'anon') body = <LoginPage expired={auth.expired} onSignedIn={() => void check()} />;
  else body = <Shell />;

  return (
    <LangContext.Provider value={langCtx}>
      <SessionContext.Provider value={session}>{body}</SessionContext.Provider>
    </LangContext.Provider>
  );
}
