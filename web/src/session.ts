/**
 * Who is signed in and the account facts every page formats with (currency, time zone,
 * national locale). Pages read it with `useSession()` and format with `useFormat()`.
 */
import { createContext } from 'preact';
import { useContext, useMemo } from 'preact/hooks';
import { makeFormatter, intlLocale, type Formatter } from './format';
import { getLang, type Lang } from './i18n';

export type Role = 'admin' | 'sales_head' | 'manager' | 'marketer';

/** GET /api/auth/me */
export interface Me {
  id: string;
  accountId: string;
  email: string;
  name: string;
  role: Role;
}

/** The parts of GET /api/account the UI needs; managers may not read it, so all have defaults. */
export interface AccountFacts {
  currency: string;
  timezone: string;
  locale: string;
}

export const DEFAULT_ACCOUNT: AccountFacts = { currency: 'RUB', timezone: 'Europe/Moscow', locale: 'ru' };

export interface Session {
  me: Me;
  account: AccountFacts;
  logout(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

export function useFormat(): Formatter {
  const { account } = useSession();
  return useMemo(
    () => makeFormatter({ locale: intlLocale(account.locale), currency: account.currency, timeZone: account.timezone }),
    [account.locale, account.currency, account.timezone],
  );
}

/** The interface language; the root re-renders everything when it changes. */
export const LangContext = createContext<{ lang: Lang; setLang(l: Lang): void }>({ lang: getLang(), setLang: () => undefined });
