/**
 * The port every external CRM connector implements (amoCRM, Bitrix24; the built-in CRM can
 * implement it too, so the conformance suite runs against all three).
 *
 * Contract:
 * - `lookupByPhone(e164)`: the contact whose phone is the same number as `e164` (compared
 *   after normalising whatever the CRM's users typed, "8 (912) …", "+7 912 …"), with its
 *   owner and its OPEN deals (not won, not lost); `null` when the CRM has no such contact.
 *   Never throws for "not found".
 * - `createLead(input)`: creates a lead (amoCRM: a deal in the first stage, linked to the
 *   caller's contact, or to a new one; Bitrix24: a lead) and returns its external id.
 *   Not idempotent on the vendor side: callers de-duplicate by `sourceCallId` before calling.
 * - `logCall(input)`: records the call on the caller's card (amoCRM `POST /api/v4/calls`,
 *   Bitrix24 `telephony.externalcall.register` + `finish` + `attachRecord`). Returns the
 *   vendor's id of the logged call. amoCRM refuses calls from numbers it does not know:
 *   that is `CRM_NOT_FOUND`, and the caller should create the lead first.
 * - `parseDealWebhook(raw)`: authenticates a webhook the CRM posted to us (amoCRM: the
 *   secret in our webhook URL; Bitrix24: `auth[application_token]`) and returns the deal
 *   updates it carries, normalised. It may call the CRM back where the webhook carries
 *   only an id (Bitrix24) or lacks the loss reason (amoCRM, lost deals).
 *
 * Every failure is a `CrmError` with a stable code (below). Every vendor response is checked
 * with zod before it is used; a response that does not match is `CRM_BAD_PAYLOAD`.
 * Rate limits are retried inside the connector only when the vendor asks for a short wait;
 * a longer wait is `CRM_RATE_LIMITED` with `retryAfterSeconds`, for the job queue to delay.
 * Errors and logs never contain tokens or secrets.
 */
import { z } from 'zod';
import { AppError } from '../../platform/errors';
import { E164 } from '../../platform/phone';

export const CRM_ERROR_CODES = [
  /** Credentials rejected and not refreshable, or the vendor account unpaid: an admin must act. */
  'CRM_AUTH_FAILED',
  /** The vendor asked us to slow down for longer than we wait in-process. */
  'CRM_RATE_LIMITED',
  /** The vendor has no such entity (amoCRM: no card with the call's phone). */
  'CRM_NOT_FOUND',
  /** A vendor response or an incoming webhook did not match what the vendor documents. */
  'CRM_BAD_PAYLOAD',
  /** The vendor refused our request as invalid (validation errors). */
  'CRM_REJECTED',
  /** Network failure, timeout or a 5xx from the vendor. */
  'CRM_UNAVAILABLE',
  /** An incoming webhook whose secret or token does not match this account's. */
  'CRM_WEBHOOK_UNAUTHORIZED',
  /** The account's connector settings are invalid. */
  'CRM_SETTINGS_INVALID',
  /** Our own caller passed an invalid lead or call (a bug on our side, not the vendor's). */
  'CRM_INVALID_INPUT',
] as const;
export type CrmErrorCode = (typeof CRM_ERROR_CODES)[number];

const STATUS: Record<CrmErrorCode, number> = {
  CRM_AUTH_FAILED: 502,
  CRM_RATE_LIMITED: 503,
  CRM_NOT_FOUND: 404,
  CRM_BAD_PAYLOAD: 502,
  CRM_REJECTED: 502,
  CRM_UNAVAILABLE: 503,
  CRM_WEBHOOK_UNAUTHORIZED: 401,
  CRM_SETTINGS_INVALID: 400,
  CRM_INVALID_INPUT: 400,
};

export class CrmError extends AppError {
  declare readonly code: CrmErrorCode;
  constructor(
    code: CrmErrorCode,
    message: string,
    readonly vendor: string,
    opts: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, `${vendor}: ${message}`, { status: opts.status ?? STATUS[code], details: opts.details, cause: opts.cause });
  }
  /** Seconds the vendor asked us to wait (CRM_RATE_LIMITED), when it said. */
  get retryAfterSeconds(): number | undefined {
    const d = this.details as { retryAfterSeconds?: number } | undefined;
    return d?.retryAfterSeconds;
  }
}

/** Validate a connector's input; a mismatch is CRM_INVALID_INPUT naming the fields. */
export function checkInput<S extends z.ZodType>(schema: S, raw: unknown, vendor: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const paths = r.error.issues.map((i) => i.path.join('.'));
  throw new CrmError('CRM_INVALID_INPUT', `invalid input at ${paths.join(', ')}`, vendor, { details: { paths } });
}

const Phone = z.string().regex(E164, 'E.164 phone expected');

export const OpenDeal = z.object({
  externalDealId: z.string(),
  title: z.string(),
  stage: z.string(),
  amount: z.number().nonnegative(),
});
export type OpenDeal = z.infer<typeof OpenDeal>;

export const CrmContactMatch = z.object({
  contactId: z.string(),
  name: z.string(),
  ownerExternalUserId: z.string().optional(),
  openDeals: z.array(OpenDeal),
});
export type CrmContactMatch = z.infer<typeof CrmContactMatch>;

export const CreateLeadInput = z.object({
  phone: Phone,
  /** The caller's name when known; a lead from a call usually has none yet. */
  name: z.string().min(1).optional(),
  sourceCallId: z.string().min(1),
  trackingNumber: Phone.optional(),
  channel: z.string().min(1).optional(),
  /** The vendor's user id of the manager who owns the lead. */
  responsibleExternalUserId: z.string().min(1).optional(),
});
export type CreateLeadInput = z.input<typeof CreateLeadInput>;

export const CALL_RESULTS = ['answered', 'missed', 'busy', 'voicemail'] as const;
export const LogCallInput = z.object({
  direction: z.enum(['inbound', 'outbound']),
  /** The other party (caller on inbound, callee on outbound). */
  phone: Phone,
  durationSeconds: z.number().int().nonnegative(),
  recordingUrl: z.string().url().optional(),
  callId: z.string().min(1),
  startedAt: z.date(),
  responsibleExternalUserId: z.string().min(1).optional(),
  result: z.enum(CALL_RESULTS),
});
export type LogCallInput = z.input<typeof LogCallInput>;

export const DealUpdate = z.object({
  externalDealId: z.string(),
  stage: z.string(),
  amount: z.number().nonnegative(),
  status: z.enum(['open', 'won', 'lost']),
  lostReason: z.string().optional(),
  /**
   * The vendor's lead the deal came from, when it is a different entity (Bitrix24: a lead
   * converted into a deal, `LEAD_ID`); amoCRM's lead IS the deal, so it is not set there.
   * Lets the caller credit the deal to the call that created the lead.
   */
  externalLeadId: z.string().optional(),
});
export type DealUpdate = z.infer<typeof DealUpdate>;

/** A webhook exactly as it reached our HTTP route: the body unparsed, so nothing is lost. */
export interface RawWebhook {
  contentType: string;
  body: string;
  /** The query string of our webhook URL (amoCRM: where our secret travels). */
  query: Record<string, string | undefined>;
}

export interface CrmConnector {
  readonly provider: 'amocrm' | 'bitrix24' | 'builtin';
  lookupByPhone(e164: string): Promise<CrmContactMatch | null>;
  createLead(input: CreateLeadInput): Promise<{ externalId: string }>;
  logCall(input: LogCallInput): Promise<{ externalId: string }>;
  parseDealWebhook(raw: RawWebhook): Promise<DealUpdate[]>;
}
