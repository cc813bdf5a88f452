/**
 * Interface text, Russian first. Every string on screen goes through `t(key)`; the English
 * dictionary is typed against the Russian one, so a key missing from either fails the build.
 * The choice persists in localStorage. The app re-renders from the root when it changes, so
 * `t` can read a module-level language instead of threading it through every component.
 */
import { en } from './en';
import { ru, type Key } from './ru';

export type { Key } from './ru';
export type Lang = 'ru' | 'en';
export const LANGS: readonly Lang[] = ['ru', 'en'];

const STORAGE_KEY = 'callpulse.lang';
const dictionaries: Record<Lang, Record<Key, string>> = { ru, en };

function stored(): Lang {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === 'en' || v === 'ru' ? v : 'ru';
  } catch {
    return 'ru';
  }
}

let current: Lang = stored();

export function getLang(): Lang {
  return current;
}

export function setLang(lang: Lang): void {
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Private mode without storage: the choice lasts for this page only.
  }
  document.documentElement.lang = lang;
}

/** `t('calls.count', {n: 5})` fills `{n}` placeholders. */
export function t(key: Key, vars?: Record<string, string | number>): string {
  let s = dictionaries[current][key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** For keys built from data (an outcome, a role): falls back to the raw value if unknown. */
export function tMaybe(key: string, fallback: string): string {
  const d = dictionaries[current] as Record<string, string>;
  return d[key] ?? fallback;
}
