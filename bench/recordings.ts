/**
 * npm run bench -- recordings
 *
 * 1. Transcode plus upload, as a realtime factor per core: BENCH_RECORDINGS (default 24)
 *    synthetic stereo 8 kHz calls of BENCH_RECORDING_SECONDS (default 90 s) go through the
 *    whole job (inspect, measure loudness and peaks, MP3 encode, sha256, upload to the
 *    embedded S3-API server, verify, row, delete the WAV, recording.ready), with as many jobs
 *    in parallel as there are cores. The headline's realtime factor per core is audio
 *    seconds per CPU second spent by this process (pipeline and the embedded S3 server) and
 *    its ffmpeg children: what one core does when it does only this. The wall-clock figure,
 *    audio seconds / (wall seconds x cores), is printed next to the load average, because on
 *    a shared machine other work takes the cores too.
 * 2. Click to first audio byte: over real HTTP, `GET /api/calls/:id/recording` (auth, audit,
 *    302) then the signed link, until the first byte of audio arrives, against the raw time
 *    to the first byte of the same object fetched from S3 with the SDK. Medians of
 *    BENCH_PLAYS (default 50) after a warm-up.
 *
 * Runs against a database of its own (created and dropped here), its own S3 folder and port,
 * and its own Redis stream and prefix.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createApiToken } from '../platform/auth/principals';
import { systemClock } from '../platform/clock';
import { loadConfig } from '../platform/config';
import { migrate } from '../platform/db/migrate';
import { createPool } from '../platform/db/pool';
import { EventPublisher } from '../platform/events/stream';
import { buildApp } from '../platform/http/app';
import { createLogger } from '../platform/logger';
import { createRedis } from '../platform/redis';
import { startEmbeddedS3 } from '../recordings/adapters/embedded-s3';
import { S3ObjectStore } from '../recordings/adapters/object-store';
import { RecordingsRepo } from '../recordings/adapters/repository';
import { FfmpegTranscoder } from '../recordings/adapters/transcoder';
import { recordingsRoutes } from '../recordings/http/routes';
import { processRecording } from '../recordings/pipeline/process';
import { writeTestWav } from '../tests/helpers/wav';

const N = Number(process.env.BENCH_RECORDINGS ?? 24);
const SECONDS = Number(process.env.BENCH_RECORDING_SECONDS ?? 90);
const PLAYS = Number(process.env.BENCH_PLAYS ?? 50);
const CORES = Number(process.env.BENCH_CORES ?? cpus().length);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;

/** CPU seconds of this process and of the children it has waited for (ffmpeg), from /proc. */
function cpuSeconds(): number {
  const self = process.cpuUsage();
  const f = readFileSync('/proc/self/stat', 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 (cutime, cstime, in clock ticks of 1/100 s) are the 14th and 15th after the command name.
  const children = (Number(rest[13]) + Number(rest[14])) / 100;
  return (self.user + self.system) / 1e6 + children;
}

async function firstByte(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (!body) throw new Error('no body');
  const reader = body.getReader();
  const { value } = await reader.read();
  if (!value || value.length === 0) throw new Error('empty body');
  await reader.cancel();
}

export async function run(): Promise<string> {
  const base = loadConfig();
  const dbName = `cp_bench_rec_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: base.db.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(base.db.url);
  url.pathname = `/${dbName}`;
  const pool = createPool(url.toString(), CORES + 4);
  const redis = createRedis(base.redis.url);
  const stream = `bench-rec-${randomUUID().slice(0, 8)}`;
  const s3dir = mkdtempSync(join(tmpdir(), 'cp-bench-s3-'));
  const spool = mkdtempSync(join(tmpdir(), 'cp-bench-spool-'));
  const config = loadConfig({ ...process.env, S3_BUCKET: 'bench-recordings', LOG_LEVEL: 'warn' });
  const s3 = await startEmbeddedS3(config, { port: 0, directory: s3dir });
  const store = new S3ObjectStore({ ...config.s3, endpoint: s3.endpoint });
  const logger = createLogger({ level: 'warn', destination: 2 });
  try {
    await migrate(pool);
    await store.ensureBucket();
    const { rows: acc } = await pool.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('bench') RETURNING id`);
    const accountId = acc[0]!.id;
    const { rows: users } = await pool.query<{ id: string }>(
      `INSERT INTO users (account_id, email, name, role) VALUES ($1, $2, 'bench head', 'sales_head') RETURNING id`,
      [accountId, `bench-${randomUUID().slice(0, 8)}@callpulse.local`],
    );
    const { token } = await createApiToken(pool, accountId, users[0]!.id, 'bench');
    const repo = new RecordingsRepo(pool);
    const publisher = new EventPublisher(redis, stream, `bench-${randomUUID().slice(0, 8)}`);
    const transcoder = new FfmpegTranscoder({ ffmpegPath: config.recordings.ffmpegPath, ffprobePath: config.recordings.ffprobePath, mp3Kbps: config.recordings.mp3Kbps });
    await transcoder.check();
    const deps = { repo, store, transcoder, publisher, clock: systemClock, logger, formats: ['mp3' as const] };

    // ---- transcode + upload -------------------------------------------------------------
    console.error(`transcode+upload: ${N} calls of ${SECONDS} s stereo 8 kHz, ${CORES} in parallel (${CORES} cores)`);
    const jobs = [];
    for (let i = 0; i < N + CORES; i++) {
      const callId = randomUUID();
      const path = join(spool, `${callId}.wav`);
      await writeTestWav(path, SECONDS);
      jobs.push({ accountId, callId, path, userId: users[0]!.id, startedAt: new Date(Date.now() - i * 600_000).toISOString(), outageRetries: 0 });
    }
    // Warm-up: one job per lane (ffmpeg's first start, connection pools, JIT).
    await Promise.all(jobs.slice(0, CORES).map((j) => processRecording(j, deps)));
    const timed = jobs.slice(CORES);
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CORES }, async () => {
        for (let i = next++; i < timed.length; i = next++) await processRecording(timed[i]!, deps);
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - cpu0;
    const audio = timed.length * SECONDS;
    const perCore = audio / (wall * CORES);
    const perCpu = audio / cpu;
    console.error(`  CPU time (this process + ffmpeg): ${cpu.toFixed(2)} s for ${audio} s of audio: ${perCpu.toFixed(0)}x realtime per core`);
    console.error(`  wall clock: ${wall.toFixed(2)} s on ${CORES} cores, ${perCore.toFixed(0)}x realtime per core (load average ${loadavg()[0]!.toFixed(1)})`);

    // ---- click to first byte vs raw S3 --------------------------------------------------
    const app = await buildApp({ config, pool, logger });
    await app.register(recordingsRoutes, { repo, storeFor: () => store, signingKey: config.playback.signingKey, linkTtlSeconds: 300 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const http = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const key = (await repo.byCall(accountId, timed[0]!.callId))[0]!.key;
    const callId = timed[0]!.callId;
    const click = async () => {
      const t = performance.now();
      const res = await fetch(`${http}/api/calls/${callId}/recording`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status !== 200 || !res.redirected) throw new Error(`play answered ${res.status}`);
      await firstByte(res.body);
      return performance.now() - t;
    };
    const raw = async () => {
      const t = performance.now();
      const obj = await store.get(key);
      await new Promise<void>((resolve, reject) => {
        obj.body.once('data', () => resolve());
        obj.body.once('error', reject);
      });
      const ms = performance.now() - t;
      obj.body.destroy();
      return ms;
    };
    for (let i = 0; i < 5; i++) {
      await click();
      await raw();
    }
    const clicks: number[] = [];
    const raws: number[] = [];
    for (let i = 0; i < PLAYS; i++) {
      clicks.push(await click());
      raws.push(await raw());
    }
    await app.close();
    const fb = median(clicks);
    const rawFb = median(raws);
    console.error(`first byte over ${PLAYS} plays: click ${fb.toFixed(1)} ms median (p95 ${p95(clicks).toFixed(1)}), raw S3 GET ${rawFb.toFixed(1)} ms median (p95 ${p95(raws).toFixed(1)}); ${(fb / rawFb).toFixed(1)}x the raw fetch`);

    return `recordings: ${perCpu.toFixed(0)}x realtime, first byte ${fb.toFixed(0)} ms`;
  } finally {
    store.destroy();
    await s3.close();
    rmSync(s3dir, { recursive: true, force: true });
    rmSync(spool, { recursive: true, force: true });
    await redis.del(stream).catch(() => undefined);
    await redis.quit().catch(() => redis.disconnect());
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}
