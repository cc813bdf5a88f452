/**
 * Bulk re-encode or migrate stored recordings, with a progress bar on stderr. Resumable:
 * run it again with the same --run id and it continues after the last finished batch.
 *
 *   tsx recordings/reencode-cli.ts --run opus-2026-11 --to opus
 *   tsx recordings/reencode-cli.ts --run mp3-48k --to mp3          (re-encode in place)
 *   tsx recordings/reencode-cli.ts --run move-1 --to-bucket recordings-archive
 *
 * Options: --account <uuid> (one tenant), --batch N (checkpoint every N, default 20),
 * --concurrency N (default RECORDINGS_CONCURRENCY). Ctrl-C stops after the current batch.
 * Prints a JSON summary on stdout; exits 0 when every item succeeded, 1 when some failed,
 * 2 on bad arguments, 130 when interrupted.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { EventPublisher } from '../platform/events/stream';
import { createLogger } from '../platform/logger';
import { createRedis } from '../platform/redis';
import { isFinished, renderProgress } from './domain/bulk';
import { RECORDING_FORMATS, type RecordingFormat } from './domain/keys';
import { RecordingsRepo } from './adapters/repository';
import { openStores } from './adapters/stores';
import { FfmpegTranscoder } from './adapters/transcoder';
import { runBulk, type BulkOperation } from './pipeline/reencode';

function usage(msg: string): never {
  console.error(`${msg}\nusage: tsx recordings/reencode-cli.ts --run <id> (--to <${RECORDING_FORMATS.join('|')}> | --to-bucket <name>) [--account <uuid>] [--batch N] [--concurrency N]`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    to: { type: 'string' },
    'to-bucket': { type: 'string' },
    account: { type: 'string' },
    batch: { type: 'string', default: '20' },
    concurrency: { type: 'string' },
  },
  strict: true,
});

if (!values.run || !/^[A-Za-z0-9._-]{1,100}$/.test(values.run)) usage('--run <id> is required (letters, digits, . _ -)');
if (!values.to === !values['to-bucket']) usage('give exactly one of --to or --to-bucket');
if (values.to && !(RECORDING_FORMATS as readonly string[]).includes(values.to)) usage(`--to must be one of ${RECORDING_FORMATS.join(', ')}`);
const op: BulkOperation = values.to ? { kind: 'reencode', to: values.to as RecordingFormat } : { kind: 'migrate', toBucket: values['to-bucket']! };

const config = loadConfig();
const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'reencode', destination: 2 });
const pool = createPool(config.db.url, 4);
const redis = createRedis(config.redis.url);
const stores = await openStores(config, logger);
const controller = new AbortController();
process.once('SIGINT', () => {
  console.error('\nstopping after the current batch…');
  controller.abort();
});

const transcoder = new FfmpegTranscoder({ ffmpegPath: config.recordings.ffmpegPath, ffprobePath: config.recordings.ffprobePath, mp3Kbps: config.recordings.mp3Kbps });
const started = performance.now();
const tty = process.stderr.isTTY;
let lastLine = Number.NEGATIVE_INFINITY;
try {
  await transcoder.check();
  const summary = await runBulk(
    {
      repo: new RecordingsRepo(pool),
      storeFor: stores.storeFor,
      transcoder,
      logger,
      publisher: new EventPublisher(redis, config.events.stream, config.redis.prefix),
    },
    {
      runId: values.run,
      op,
      accountId: values.account,
      batch: Number(values.batch),
      concurrency: Number(values.concurrency ?? config.recordings.concurrency),
      signal: controller.signal,
      onProgress(accountId, p, items) {
        const line = `${accountId.slice(0, 8)} ${renderProgress(p, { items, elapsedMs: performance.now() - started })}`;
        // On a terminal the bar redraws in place; in a log, a line at most every 2 s, and the last.
        if (tty) process.stderr.write(`\r${line}`);
        else if (performance.now() - lastLine > 2000 || isFinished(p)) {
          process.stderr.write(`${line}\n`);
          lastLine = performance.now();
        }
      },
    },
  );
  if (tty) process.stderr.write('\n');
  console.log(JSON.stringify({ run: values.run, op, ...summary }));
  process.exitCode = controller.signal.aborted ? 130 : summary.failed > 0 ? 1 : 0;
} finally {
  await stores.close();
  await redis.quit().catch(() => redis.disconnect());
  await pool.end();
}
