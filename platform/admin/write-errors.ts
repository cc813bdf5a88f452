/**
 * Postgres enforces what only the database can know (uniqueness, references within the
 * tenant, cross-column checks). This turns those refusals into answers that name the field,
 * like a zod validation error does, instead of a generic 409 or a 500.
 */
import { AppError } from '../errors';

interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
  table?: string;
  column?: string;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** `Key (account_id, channel_id)=(…)` -> `channelId`; `Key (lower(email))=(…)` -> `email`. */
function keyField(detail: string | undefined): string | null {
  const m = /^Key \((.+?)\)=\(/.exec(detail ?? '');
  if (!m) return null;
  const cols = m[1]!.split(', ').map((c) => c.replace(/^\w+\((\w+)\)$/, '$1')).filter((c) => c !== 'account_id');
  const col = cols[cols.length - 1];
  return col ? camel(col) : null;
}

/** A 400 shaped like the app's zod errors: the message starts with the field's path. */
export function invalidField(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `${field}: ${message}`, { status: 400, details: { fields: [{ field, message }] } });
}

export function translateWriteError(err: unknown, op: 'write' | 'delete'): unknown {
  const e = err as PgError;
  if (typeof e?.code !== 'string' || !/^23/.test(e.code)) return err;
  const field = keyField(e.detail);
  switch (e.code) {
    case '23505':
      return new AppError('CONFLICT', `${field ? `body.${field}` : 'a value'} is already taken`, {
        status: 409,
        details: { fields: field ? [{ field: `body.${field}`, message: 'already taken' }] : [], constraint: e.constraint },
      });
    case '23503': {
      if (op === 'delete') {
        const from = /referenced from table "(\w+)"/.exec(e.detail ?? '')?.[1];
        return new AppError('IN_USE', `still in use${from ? ` by ${from.replace(/_/g, ' ')}` : ''}; remove those first`, { status: 409 });
      }
      const table = /in table "(\w+)"/.exec(e.detail ?? '')?.[1];
      return invalidField(`body.${field ?? 'id'}`, `no such ${table ? table.replace(/_/g, ' ').replace(/s$/, '') : 'row'} in this account`);
    }
    case '23502':
      return invalidField(`body.${e.column ? camel(e.column) : 'field'}`, 'required');
    case '23514':
      return new AppError('VALIDATION_FAILED', `the change breaks the rule ${e.constraint ?? 'check'} of ${e.table ?? 'the row'}`, {
        status: 400,
        details: { constraint: e.constraint },
      });
    default:
      return err;
  }
}
