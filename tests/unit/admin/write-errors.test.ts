import { describe, expect, it } from 'vitest';
import { translateWriteError } from '../../../platform/admin/write-errors';
import { AppError } from '../../../platform/errors';

// Shaped like node-postgres errors, with the detail texts Postgres 16 writes.
const pg = (code: string, detail: string, extra: Record<string, string> = {}) => Object.assign(new Error('pg'), { code, detail, ...extra });

describe('translateWriteError', () => {
  it('names the taken field of a unique violation (409)', () => {
    const e = translateWriteError(pg('23505', 'Key (number)=(+74951110001) already exists.'), 'write') as AppError;
    expect([e.status, e.code, e.message]).toEqual([409, 'CONFLICT', 'body.number is already taken']);
    const email = translateWriteError(pg('23505', 'Key (lower(email))=(a@b.c) already exists.'), 'write') as AppError;
    expect(email.details).toMatchObject({ fields: [{ field: 'body.email' }] });
    const scoped = translateWriteError(pg('23505', 'Key (account_id, name)=(5b0…, Sales) already exists.'), 'write') as AppError;
    expect(scoped.message).toBe('body.name is already taken');
  });

  it('turns a missing reference on write into a 400 naming the field', () => {
    const e = translateWriteError(pg('23503', 'Key (account_id, channel_id)=(5b0…, 7c1…) is not present in table "channels".'), 'write') as AppError;
    expect([e.status, e.code, e.message]).toEqual([400, 'VALIDATION_FAILED', 'body.channelId: no such channel in this account']);
  });

  it('turns a reference that blocks a delete into a 409 saying what uses the row', () => {
    const e = translateWriteError(pg('23503', 'Key (account_id, id)=(5b0…, 7c1…) is still referenced from table "tracking_numbers".'), 'delete') as AppError;
    expect([e.status, e.code, e.message]).toEqual([409, 'IN_USE', 'still in use by tracking numbers; remove those first']);
  });

  it('turns a failed check into a 400 naming the rule', () => {
    const e = translateWriteError(pg('23514', 'Failing row contains (…).', { constraint: 'tracking_numbers_check', table: 'tracking_numbers' }), 'write') as AppError;
    expect([e.status, e.message]).toEqual([400, 'the change breaks the rule tracking_numbers_check of tracking_numbers']);
  });

  it('passes everything else through untouched', () => {
    const app = new AppError('NOT_FOUND', 'x', { status: 404 });
    const other = pg('40001', 'serialization failure');
    expect(translateWriteError(app, 'write')).toBe(app);
    expect(translateWriteError(other, 'write')).toBe(other);
    expect(translateWriteError(null, 'write')).toBe(null);
  });
});
