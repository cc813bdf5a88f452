/**
 * The one HTTP path to a CRM vendor: a timeout on every request (amoCRM's telephony guide:
 * "Обязательно нужно ставить минимальный timeout"), rate-limit waits honoured in-process
 * only while they are short, and zod on every body. Requests and errors never carry the
 * Authorization header or tokens into messages.
 */
import { timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { CrmError } from './port';

export interface VendorHttpOptions {
  vendor: string;
  timeoutMs: number;
  /** The longest rate-limit wait we sit through in-process; beyond it: CRM_RATE_LIMITED. */
  maxRetryWaitMs: number;
  /** Attempts of one request while rate-limited (the first one included). */
  maxAttempts: number;
  /** Backoff base when the vendor gives no wait (doubles per attempt, with jitter). */
  backoffBaseMs: number;
  /** Whether a response is the vendor saying "slow down". */
  isRateLimited: (status: number, body: string) => boolean;
  sleep?: (ms: number) => Promise<void>;
}

export interface VendorRequest {
  /** How errors name this request: never the URL, which may carry a webhook token. */
  what: string;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface VendorResponse {
  status: number;
  body: string;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Seconds to wait from a Retry-After header (seconds or HTTP date) or a JSON `retry_after`. */
export function retryAfterSeconds(header: string | null, body: string, now = Date.now()): number | undefined {
  if (header) {
    if (/^\d+$/.test(header.trim())) return Number(header.trim());
    const at = Date.parse(header);
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - now) / 1000));
  }
  try {
    const v = (JSON.parse(body) as { retry_after?: unknown }).retry_after;
    if (typeof v === 'number' && v >= 0) return v;
  } catch {
    // not JSON: no hint
  }
  return undefined;
}

export async function send(opts: VendorHttpOptions, req: VendorRequest): Promise<VendorResponse> {
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(opts.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const what = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : 'unreachable';
      throw new CrmError('CRM_UNAVAILABLE', `${req.what}: ${what}`, opts.vendor);
    }
    const body = await res.text();
    if (!opts.isRateLimited(res.status, body)) return { status: res.status, body };
    const hinted = retryAfterSeconds(res.headers.get('retry-after'), body);
    const backoff = opts.backoffBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
    const waitMs = hinted !== undefined ? hinted * 1000 : backoff;
    if (attempt >= opts.maxAttempts || waitMs > opts.maxRetryWaitMs) {
      throw new CrmError('CRM_RATE_LIMITED', `${req.what}: rate limited after ${attempt} attempt(s)`, opts.vendor, {
        details: { retryAfterSeconds: Math.ceil(waitMs / 1000), attempts: attempt },
      });
    }
    await sleep(waitMs);
  }
}

/** Parse a vendor body with zod; a mismatch names the paths, never the values. */
export function parseBody<S extends z.ZodType>(schema: S, body: string, vendor: string, what: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new CrmError('CRM_BAD_PAYLOAD', `${what}: not JSON`, vendor);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const paths = r.error.issues.slice(0, 5).map((i) => i.path.join('.') || '(root)');
    throw new CrmError('CRM_BAD_PAYLOAD', `${what}: unexpected shape at ${paths.join(', ')}`, vendor, { details: { paths } });
  }
  return r.data;
}

/** The error for a status no caller handled specially. */
export function errorForStatus(vendor: string, what: string, status: number): CrmError {
  if (status === 401 || status === 403) return new CrmError('CRM_AUTH_FAILED', `${what}: HTTP ${status}`, vendor, { details: { status } });
  if (status === 404) return new CrmError('CRM_NOT_FOUND', `${what}: HTTP 404`, vendor);
  if (status >= 500) return new CrmError('CRM_UNAVAILABLE', `${what}: HTTP ${status}`, vendor, { details: { status } });
  return new CrmError('CRM_REJECTED', `${what}: HTTP ${status}`, vendor, { details: { status } });
}

/** Compare a secret from a webhook with ours without leaking its length-prefix by timing. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
