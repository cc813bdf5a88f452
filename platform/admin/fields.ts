/** Field schemas the admin API's entities share. */
import { z } from 'zod';
import { normalizePhone } from '../phone';

export const Name = z.string().trim().min(1).max(200);
/** numeric(14, 2) in the database. */
export const Money = z.number().nonnegative().max(999_999_999_999.99);
export const Id = z.uuid();
export const Timestamp = z.date();
export const Email = z.string().trim().toLowerCase().pipe(z.email().max(200));

/** A phone number in any common writing, stored as E.164; one that cannot be is a 400 naming the field. */
export const PhoneInput = z
  .string()
  .max(50)
  .transform((raw, ctx) => {
    const e164 = normalizePhone(raw);
    if (e164 === null) {
      ctx.addIssue({ code: 'custom', message: `cannot be read as a phone number (E.164 or a Russian 8/+7 number): ${JSON.stringify(raw)}` });
      return z.NEVER;
    }
    return e164;
  });
export const E164 = z.string().regex(/^\+[1-9]\d{6,14}$/);
