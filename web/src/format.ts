/**
 * How figures look. Phones, money, counts and dates use the account's national conventions
 * (ru-RU by default: `8 (495) 111-00-01`, `15 000 ₽`, `23.11.2026, 14:05`), whatever the
 * language of the interface: a sales head reads numbers the way their phone bill writes them.
 * Intl formatters are cached, as building one costs far more than using it.
 */

const DASH = '—';

/**
 * E.164 or a loosely written number -> the national writing. Numbers of the +7 plan (Russia,
 * Kazakhstan) become `8 (XXX) XXX-XX-XX`, including 8-800; anything else (other countries,
 * internal extensions) is shown as given, so nothing is ever mangled into a wrong number.
 */
export function formatPhone(raw: string | null | undefined): string {
  if (!raw) return DASH;
  const s = raw.trim();
  const digits = s.replace(/\D/g, '');
  const national = /^\+?7\d{10}$/.test(s.replace(/[\s()-]/g, '')) || (/^8\d{10}$/.test(digits) && !s.startsWith('+'));
  if (!national || digits.length !== 11) return s;
  const d = digits.slice(1);
  return `8 (${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6, 8)}-${d.slice(8)}`;
}

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function cached<F extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => F): F {
  let f = cache.get(key) as F | undefined;
  if (!f) cache.set(key, (f = make()));
  return f;
}

/** The Intl locale for an account's `locale` setting. */
export function intlLocale(accountLocale: string | null | undefined): string {
  return accountLocale === 'en' ? 'en-US' : 'ru-RU';
}

export interface Formatter {
  money(v: number | null | undefined): string;
  int(v: number | null | undefined): string;
  decimal(v: number | null | undefined, digits?: number): string;
  /** A share 0..1 as a percentage. */
  percent(v: number | null | undefined): string;
  phone(v: string | null | undefined): string;
  /** Seconds as m:ss, or h:mm:ss from an hour. */
  duration(seconds: number | null | undefined): string;
  dateTime(v: string | Date | null | undefined): string;
  date(v: string | Date | null | undefined): string;
}

export function makeFormatter(opts: { locale?: string; currency?: string; timeZone?: string } = {}): Formatter {
  const locale = opts.locale ?? 'ru-RU';
  const currency = opts.currency ?? 'RUB';
  const timeZone = opts.timeZone ?? 'Europe/Moscow';
  const money = cached(`m|${locale}|${currency}`, () => new Intl.NumberFormat(locale, { style: 'currency', currency, maximumFractionDigits: 0 }));
  const int = cached(`i|${locale}`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }));
  const pct = cached(`p|${locale}`, () => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }));
  const dt = cached(`dt|${locale}|${timeZone}`, () => new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'short', timeZone }));
  const d = cached(`d|${locale}|${timeZone}`, () => new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeZone }));
  const num = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  const time = (v: string | Date | null | undefined, f: Intl.DateTimeFormat) => {
    if (!v) return DASH;
    const t = v instanceof Date ? v : new Date(v);
    return Number.isNaN(t.getTime()) ? DASH : f.format(t);
  };
  return {
    money: (v) => (num(v) ? money.format(v) : DASH),
    int: (v) => (num(v) ? int.format(v) : DASH),
    decimal: (v, digits = 1) => (num(v) ? cached(`f|${locale}|${digits}`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: digits })).format(v) : DASH),
    percent: (v) => (num(v) ? pct.format(v) : DASH),
    phone: formatPhone,
    duration(seconds) {
      if (!num(seconds)) return DASH;
      const s = Math.round(seconds);
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const ss = String(s % 60).padStart(2, '0');
      return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
    },
    dateTime: (v) => time(v, dt),
    date: (v) => time(v, d),
  };
}

/** Today's date (YYYY-MM-DD) in a time zone, shifted by whole days. */
export function localDay(timeZone: string, shiftDays = 0, now = new Date()): string {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  if (shiftDays === 0) return today;
  const t = new Date(`${today}T12:00:00Z`);
  t.setUTCDate(t.getUTCDate() + shiftDays);
  return t.toISOString().slice(0, 10);
}
