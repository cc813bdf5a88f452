/**
 * Playback over HTTP. One click in the journal is `audio.src = /api/calls/:id/recording`:
 *
 * 1. `GET /api/calls/:id/recording` checks the caller (a manager hears only their own calls;
 *    sales heads and admins hear all), writes the audit row, and redirects (302) to a link we
 *    signed ourselves, valid for `linkTtlSeconds`;
 * 2. `GET /media/recordings/:callId?f&exp&sig` is public: the signature is the permission. It
 *    streams the object from the store with HTTP Range support (206), so the browser can seek
 *    and start playing from the first bytes. A tampered or expired link gets 403.
 *
 * The redirect (not a proxy behind the session) lets the audio element, amoCRM's or
 * Bitrix24's player fetch ranges without cookies, while every play is still authorised and
 * audited by us. S3 presigned URLs are not used for this: the embedded store does not verify
 * them, and our own link keeps the check where the tests can see it.
 */
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../platform/http/app';
import { AppError, forbidden, notFound } from '../../platform/errors';
import type { Principal } from '../../platform/auth/principals';
import { contentRange, decideRange } from '../domain/byte-range';
import { CONTENT_TYPES, RECORDING_FORMATS, type RecordingFormat } from '../domain/keys';
import { signPlaybackLink, verifyPlaybackLink } from '../domain/playback-link';
import { hmacSha256 } from '../adapters/hmac';
import type { ObjectStore } from '../adapters/object-store';
import type { RecordingRow, RecordingsRepo } from '../adapters/repository';

export interface RecordingsRoutesOptions {
  repo: RecordingsRepo;
  storeFor(bucket: string): ObjectStore;
  signingKey: string;
  linkTtlSeconds: number;
  /** Wall-clock time for link expiry (real time even when the lab runs a scaled clock). */
  now?: () => number;
}

const LISTENERS = ['admin', 'sales_head', 'manager'] as const;
const HEADS = ['admin', 'sales_head'] as const;

const CallParams = z.object({ id: z.string().min(1).max(64).describe('the call id') });
const FormatQuery = z.object({ format: z.enum(RECORDING_FORMATS).default('mp3') });
const Peaks = z.object({ channels: z.number().int(), buckets: z.number().int(), data: z.array(z.array(z.number())) });

const Meta = z.object({
  callId: z.string(),
  format: z.enum(RECORDING_FORMATS),
  /** Seconds. */
  duration: z.number(),
  peaks: Peaks,
  /** What the player's audio element loads: the audited, redirecting play endpoint. */
  url: z.string(),
  formats: z.array(z.enum(RECORDING_FORMATS)),
  sizeBytes: z.number(),
  recordedAt: z.string(),
  userId: z.string().nullable(),
});

const AuditItem = z.object({
  id: z.number(),
  at: z.string(),
  userId: z.string(),
  userName: z.string().nullable(),
  callId: z.string(),
  recordingId: z.string().nullable(),
  granted: z.boolean(),
  reason: z.string().nullable(),
  ip: z.string().nullable(),
});

export const recordingsRoutes: FastifyPluginAsyncZod<RecordingsRoutesOptions> = async (app, opts) => {
  const { repo } = opts;
  const mac = hmacSha256(opts.signingKey);
  const now = opts.now ?? Date.now;

  /** The call's live file in `format`, if the principal may hear it. */
  async function recordingFor(p: Principal, callId: string, format: RecordingFormat): Promise<{ row: RecordingRow; all: RecordingRow[] }> {
    const all = await repo.byCall(p.accountId, callId);
    const row = all.find((r) => r.format === format);
    if (!row) throw new AppError('RECORDING_NOT_FOUND', `call ${callId} has no ${format} recording`, { status: 404 });
    if (row.deletedAt) throw new AppError('RECORDING_EXPIRED', `the recording of call ${callId} was deleted by the retention policy`, { status: 410 });
    return { row, all: all.filter((r) => !r.deletedAt) };
  }

  const mayHear = (p: Principal, row: RecordingRow) => p.role !== 'manager' || row.userId === p.userId;

  app.get(
    '/api/calls/:id/recording',
    {
      config: { roles: LISTENERS },
      schema: {
        tags: ['recordings'],
        summary: 'Play a call recording: audited, then redirected (302) to a short-lived signed link that streams with Range support',
        params: CallParams,
        querystring: FormatQuery,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const { row } = await recordingFor(p, req.params.id, req.query.format);
      const allowed = mayHear(p, row);
      await repo.audit({
        accountId: p.accountId,
        userId: p.userId,
        callId: row.callId,
        recordingId: row.id,
        granted: allowed,
        reason: allowed ? null : 'not_own_call',
        ip: req.ip ?? null,
        userAgent: req.headers['user-agent'] ?? null,
      });
      if (!allowed) throw forbidden('a manager may play only their own calls');
      const link = signPlaybackLink({ callId: row.callId, format: row.format, nowMs: now(), ttlSeconds: opts.linkTtlSeconds }, mac);
      return reply.header('cache-control', 'no-store').redirect(link, 302);
    },
  );

  app.get(
    '/api/calls/:id/recording/meta',
    {
      config: { roles: LISTENERS },
      schema: {
        tags: ['recordings'],
        summary: "A recording's duration, waveform peaks and the URL the player loads",
        params: CallParams,
        querystring: FormatQuery,
        response: { 200: Meta },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { row, all } = await recordingFor(p, req.params.id, req.query.format);
      if (!mayHear(p, row)) throw forbidden('a manager may see only their own calls');
      return {
        callId: row.callId,
        format: row.format,
        duration: row.durationSeconds,
        peaks: row.peaks,
        url: `/api/calls/${encodeURIComponent(row.callId)}/recording?format=${row.format}`,
        formats: all.map((r) => r.format),
        sizeBytes: row.sizeBytes,
        recordedAt: row.recordedAt,
        userId: row.userId,
      };
    },
  );

  app.get(
    '/api/recordings/audit',
    {
      config: { roles: HEADS },
      schema: {
        tags: ['recordings'],
        summary: 'Who played which recording, when (newest first; page with `before`)',
        querystring: z.object({
          callId: z.string().max(64).optional(),
          userId: z.string().uuid().optional(),
          from: z.string().datetime({ offset: true }).optional(),
          to: z.string().datetime({ offset: true }).optional(),
          before: z.coerce.number().int().positive().optional().describe('the id of the last item of the previous page'),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: z.object({ items: z.array(AuditItem), next: z.number().nullable() }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await repo.listAudit(p.accountId, req.query);
      return {
        items: rows.map(({ accountId: _a, userAgent: _u, ...r }) => r),
        next: rows.length === req.query.limit ? rows[rows.length - 1]!.id : null,
      };
    },
  );

  app.get(
    '/api/recordings/failures',
    {
      config: { roles: HEADS },
      schema: {
        tags: ['recordings'],
        summary: 'Recordings that could not be processed (missing, empty or corrupt files, jobs that kept failing)',
        response: {
          200: z.object({
            items: z.array(
              z.object({
                callId: z.string(),
                code: z.string(),
                message: z.string(),
                path: z.string(),
                userId: z.string().nullable(),
                attempts: z.number(),
                firstFailedAt: z.string(),
                lastFailedAt: z.string(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const rows = await repo.failures(principalOf(req).accountId);
      return { items: rows.map(({ accountId: _a, eventSeq: _s, ...r }) => r) };
    },
  );

  const mediaSchema = {
    config: { public: true },
    schema: {
      tags: ['recordings'],
      summary: 'Stream a recording through a signed link (from /api/calls/:id/recording); supports Range',
      params: z.object({ callId: z.string() }),
      querystring: z.object({ f: z.string().optional(), exp: z.string().optional(), sig: z.string().optional() }),
    },
  } as const;

  async function media(
    req: { params: { callId: string }; query: { f?: string; exp?: string; sig?: string }; headers: { range?: string } },
    reply: FastifyReply,
    withBody: boolean,
  ) {
    const check = verifyPlaybackLink({ callId: req.params.callId, ...req.query }, now(), mac);
    if (!check.ok) {
      const why = check.code === 'LINK_EXPIRED' ? 'the playback link has expired' : 'the playback link is not valid';
      throw new AppError(check.code, why, { status: 403 });
    }
    const row = await repo.liveByCall(check.claims.callId, check.claims.format);
    if (!row) throw notFound('recording');
    const size = row.sizeBytes;
    const range = decideRange(req.headers.range, size);
    reply
      .header('accept-ranges', 'bytes')
      .header('content-type', CONTENT_TYPES[row.format])
      .header('etag', `"${row.sha256}"`)
      .header('content-disposition', `inline; filename="${row.callId}.${row.format}"`)
      .header('cache-control', `private, max-age=${Math.max(0, check.claims.exp - Math.floor(now() / 1000))}`);
    if (range.kind === 'unsatisfiable') {
      return reply.code(416).header('content-range', `bytes */${size}`).send();
    }
    const part = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
    if (part) reply.code(206).header('content-range', contentRange(part, size));
    reply.header('content-length', String(part ? part.end - part.start + 1 : size));
    if (!withBody) return reply.send();
    const obj = await opts.storeFor(row.bucket).get(row.key, part);
    // A listener who seeks or closes the tab aborts the response: release the store's
    // connection at once instead of reading the rest of the object into the void.
    reply.raw.once('close', () => obj.body.destroy());
    return reply.send(obj.body);
  }

  // HEAD is declared before GET so Fastify does not derive one that would fetch the object.
  app.head('/media/recordings/:callId', mediaSchema, (req, reply) => media(req, reply, false));
  app.get('/media/recordings/:callId', mediaSchema, (req, reply) => media(req, reply, true));
};
