/**
 * The one config module. The environment is parsed once, by zod, into a typed and frozen
 * object that is passed down; nothing else reads process.env. Defaults work on a fresh
 * machine of ours (local Postgres and Redis, an embedded S3-API server).
 *
 * Every variable is documented in README.md ("Configuration"); keep the two in step.
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? null : v));

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: port.default(3000),
  PUBLIC_URL: z.string().url().optional(),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/test'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),

  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// URL').default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]+$/i, 'letters, digits, _ or -')
    .default('cp'),
  EVENT_STREAM: z.string().min(1).default('call-events'),

  S3_ENDPOINT: optionalString.pipe(z.string().url().nullable()),
  S3_REGION: z.string().default('us-east-1'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a valid S3 bucket name').default('recordings'),
  S3_ACCESS_KEY_ID: z.string().default('S3RVER'),
  S3_SECRET_ACCESS_KEY: z.string().default('S3RVER'),
  S3_EMBEDDED_DIR: z.string().default('.data/s3'),
  S3_EMBEDDED_PORT: port.default(4569),

  ESL_HOST: z.string().default('127.0.0.1'),
  ESL_PORT: port.default(8084),
  FREESWITCH_SIP_EDGE: z.string().regex(/^sips?:[^\s]+$/, 'a SIP URI, e.g. sip:172.28.0.10:5060').default('sip:127.0.0.1:5060'),

  RECORDINGS_SPOOL_DIR: z.string().default('.data/spool'),
  // recordings pipeline (issue 5)
  RECORDINGS_OPUS: bool.default(false),
  RECORDINGS_MP3_KBPS: z.coerce.number().int().min(8).max(320).default(32),
  RECORDINGS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  RECORDINGS_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  RECORDINGS_RETRY_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(2_000),
  RECORDINGS_RETRY_MAX_MS: z.coerce.number().int().min(10).max(3_600_000).default(300_000),
  RECORDINGS_RETENTION_INTERVAL_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
  FFMPEG_PATH: optionalString,
  FFPROBE_PATH: optionalString,

  BOOTSTRAP_ADMIN_TOKEN: optionalString.pipe(
    z.string().min(16, 'at least 16 characters').nullable(),
  ),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(12),
  COOKIE_SECURE: bool.default(false),

  PLAYBACK_SIGNING_KEY: z.string().min(16, 'at least 16 characters').default('dev-playback-signing-key-change-me'),
  PLAYBACK_LINK_TTL_SECONDS: z.coerce.number().int().min(5).max(86_400).default(300),

  MIGRATE_ON_START: bool.default(true),

  // sip-gateway (drachtio-srf in front of FreeSWITCH)
  SIP_DRACHTIO_MODE: z.enum(['inbound', 'outbound']).default('inbound'),
  SIP_DRACHTIO_HOST: z.string().min(1).default('127.0.0.1'),
  SIP_DRACHTIO_PORT: port.default(9022),
  SIP_DRACHTIO_SECRET: z.string().min(1).default('cymru'),
  SIP_DRACHTIO_RETRY_MAX_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
  SIP_FREESWITCH_URI: z.string().regex(/^sips?:[^@\s]+$/, 'a SIP URI without a user, e.g. sip:127.0.0.1:5080').default('sip:127.0.0.1:5080'),
  SIP_DEFAULT_COUNTRY: z.string().regex(/^[A-Z]{2}$/).default('RU'),
  SIP_NONCE_SECRET: z.string().min(16, 'at least 16 characters').default('dev-sip-nonce-secret-change-me'),
  SIP_NONCE_TTL_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  SIP_DIGEST_ALGORITHM: z.enum(['MD5', 'SHA-256']).default('MD5'),
  SIP_REGISTER_MIN_EXPIRES: z.coerce.number().int().min(1).default(60),
  SIP_REGISTER_MAX_EXPIRES: z.coerce.number().int().min(1).default(3600),
  SIP_REGISTER_DEFAULT_EXPIRES: z.coerce.number().int().min(1).default(3600),
  SIP_LOCKOUT_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  SIP_LOCKOUT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(300),
  SIP_LOCKOUT_MINUTES: z.coerce.number().min(0.01).default(15),
  SIP_MAX_CONCURRENT_CALLS: z.coerce.number().int().min(1).default(30),
  SIP_CALL_LEASE_SECONDS: z.coerce.number().int().min(10).default(3600),

  // crm-bridge: click-to-call over FreeSWITCH's inbound ESL, and webhooks (issue 6)
  ESL_INBOUND_HOST: z.string().min(1).default('127.0.0.1'),
  ESL_INBOUND_PORT: port.default(8021),
  ESL_INBOUND_PASSWORD: z.string().min(1).default('ClueCon'),
  CLICK_TO_CALL_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(300).default(30),
  WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(10),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(10).max(86_400).default(300),
  // crm-bridge: sync to amoCRM / Bitrix24 (crm-bridge/sync)
  CRM_SYNC_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  CRM_SYNC_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  CRM_RECORDING_LINK_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(90),
});

export type Env = z.input<typeof EnvSchema>;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

function build(e: z.output<typeof EnvSchema>) {
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: {
      host: e.HTTP_HOST,
      port: e.HTTP_PORT,
      publicUrl: e.PUBLIC_URL ?? `http://${e.HTTP_HOST === '0.0.0.0' ? '127.0.0.1' : e.HTTP_HOST}:${e.HTTP_PORT}`,
    },
    db: { url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX, migrateOnStart: e.MIGRATE_ON_START },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    events: { stream: e.EVENT_STREAM },
    s3: {
      /** null: start the embedded S3-API server (s3rver) on embeddedDir/embeddedPort. */
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      embeddedDir: e.S3_EMBEDDED_DIR,
      embeddedPort: e.S3_EMBEDDED_PORT,
    },
    esl: { host: e.ESL_HOST, port: e.ESL_PORT, sipEdge: e.FREESWITCH_SIP_EDGE },
    recordings: {
      spoolDir: e.RECORDINGS_SPOOL_DIR,
      /** Also store an Opus copy (smaller) next to the MP3 (which amoCRM and Bitrix24 play). */
      opus: e.RECORDINGS_OPUS,
      mp3Kbps: e.RECORDINGS_MP3_KBPS,
      concurrency: e.RECORDINGS_CONCURRENCY,
      /** Attempts for faults other than a store outage (an outage waits without using them). */
      attempts: e.RECORDINGS_ATTEMPTS,
      retryBaseMs: e.RECORDINGS_RETRY_BASE_MS,
      retryMaxMs: e.RECORDINGS_RETRY_MAX_MS,
      /** 0 turns the periodic retention sweep off. */
      retentionIntervalMinutes: e.RECORDINGS_RETENTION_INTERVAL_MINUTES,
      /** null: `ffmpeg`/`ffprobe` from PATH. */
      ffmpegPath: e.FFMPEG_PATH,
      ffprobePath: e.FFPROBE_PATH,
    },
    auth: {
      bootstrapAdminToken: e.BOOTSTRAP_ADMIN_TOKEN,
      sessionTtlHours: e.SESSION_TTL_HOURS,
      cookieSecure: e.COOKIE_SECURE,
    },
    playback: { signingKey: e.PLAYBACK_SIGNING_KEY, linkTtlSeconds: e.PLAYBACK_LINK_TTL_SECONDS },
    sip: {
      drachtio: {
        /** inbound: we connect to drachtio-server's admin port; outbound: drachtio connects to us (srf.listen). */
        mode: e.SIP_DRACHTIO_MODE,
        host: e.SIP_DRACHTIO_HOST,
        port: e.SIP_DRACHTIO_PORT,
        secret: e.SIP_DRACHTIO_SECRET,
        retryMaxDelayMs: e.SIP_DRACHTIO_RETRY_MAX_MS,
      },
      freeswitchUri: e.SIP_FREESWITCH_URI,
      defaultCountry: e.SIP_DEFAULT_COUNTRY,
      nonceSecret: e.SIP_NONCE_SECRET,
      nonceTtlSeconds: e.SIP_NONCE_TTL_SECONDS,
      digestAlgorithm: e.SIP_DIGEST_ALGORITHM,
      register: {
        minSeconds: e.SIP_REGISTER_MIN_EXPIRES,
        maxSeconds: e.SIP_REGISTER_MAX_EXPIRES,
        defaultSeconds: e.SIP_REGISTER_DEFAULT_EXPIRES,
      },
      lockout: {
        maxFailures: e.SIP_LOCKOUT_MAX_FAILURES,
        windowSeconds: e.SIP_LOCKOUT_WINDOW_SECONDS,
        lockoutMinutes: e.SIP_LOCKOUT_MINUTES,
      },
      maxConcurrentCalls: e.SIP_MAX_CONCURRENT_CALLS,
      callLeaseSeconds: e.SIP_CALL_LEASE_SECONDS,
    },
    crm: {
      /** FreeSWITCH's inbound event socket (event_socket.conf.xml), for click-to-call originate. */
      eslInbound: { host: e.ESL_INBOUND_HOST, port: e.ESL_INBOUND_PORT, password: e.ESL_INBOUND_PASSWORD },
      /** How long the called number may ring before the originate gives up. */
      clickToCallTimeoutSeconds: e.CLICK_TO_CALL_TIMEOUT_SECONDS,
      webhooks: {
        attempts: e.WEBHOOK_ATTEMPTS,
        retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
        timeoutMs: e.WEBHOOK_TIMEOUT_MS,
        /** Incoming signed requests older or newer than this are refused (replay window). */
        toleranceSeconds: e.WEBHOOK_TOLERANCE_SECONDS,
      },
      sync: {
        /** Attempts of one lead or call log against a vendor that is down or rate limiting. */
        attempts: e.CRM_SYNC_ATTEMPTS,
        retryBaseMs: e.CRM_SYNC_RETRY_BASE_MS,
        /** The vendor's player fetches the recording whenever someone plays it: a long-lived link. */
        recordingLinkTtlSeconds: e.CRM_RECORDING_LINK_TTL_DAYS * 86_400,
      },
    },
  };
}

type DeepReadonly<T> = { readonly [K in keyof T]: T[K] extends object ? DeepReadonly<T[K]> : T[K] };
export type Config = DeepReadonly<ReturnType<typeof build>>;

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Parse the environment. Throws ConfigError naming each bad variable and what was expected. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const r = EnvSchema.safeParse(env);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => `${String(i.path[0] ?? '?')}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`),
    );
  }
  return deepFreeze(build(r.data));
}

/** The variable names the config reads, for the README check. */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.shape);
