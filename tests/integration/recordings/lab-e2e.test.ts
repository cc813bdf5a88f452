/**
 * A recorded call from the switch to the player, with nothing scripted in between: the lab
 * places a call over real ESL, the real router bridges it to an agent and asks
 * record_session for a WAV in the spool, the lab writes that WAV at hangup (as FreeSWITCH
 * would), and the recordings pipeline (real ffmpeg, the S3 API of s3rver) turns it into the
 * MP3 that GET /api/calls/:id/recording plays.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledClock } from '../../../platform/clock';
import { buildApp, type App } from '../../../platform/http/app';
import { FfmpegTranscoder } from '../../../recordings/adapters/transcoder';
import { startLab, type Lab } from '../../lab/harness';
import { provisionScenario, type Provisioned } from '../../lab/provision';
import { localToMs, parseScenario, type Scenario } from '../../lab/scenario';
import { writeLabRecording } from '../../lab/recording-writer';
import { closeAll, testLogger, uniq } from '../../helpers';
import { createPerson, startHarness, waitFor, type Harness } from './harness';

const TZ = 'Europe/Moscow';
const MONDAY_10 = localToMs('2026-11-02T10:00:00', TZ);
// Lab time 15x: the 90 s call takes 6 s, and a timer firing 30 ms late under load is 0.45 s
// of lab time, inside the ±1 s the duration is allowed.
const clock = new ScaledClock(MONDAY_10, 15);

let h: Harness;
let lab: Lab;
let app: App;
let s: Scenario;
let p: Provisioned;

beforeAll(async () => {
  h = await startHarness();
  lab = await startLab({
    config: h.config,
    pool: h.pool,
    redis: h.redis,
    clock,
    logger: testLogger(),
    stream: h.stream,
    actors: { greetingSeconds: 0, writeRecording: writeLabRecording },
  });
  app = await buildApp({ config: h.config, pool: h.pool, logger: testLogger() });
  await app.register(h.handle.routes);
  await app.ready();
  const n = String(Math.floor(Math.random() * 9_000_000) + 1_000_000);
  s = parseScenario({
    timezone: TZ,
    schedule: { weekly: { mon: ['09:00-19:00'] } },
    channels: [{ name: 'site', numbers: [`+7495${n}`] }],
    ivr: null,
    queues: [{ name: 'sales', strategy: 'top-down', agents: ['101'], ringSeconds: 15, maxWaitSeconds: 60 }],
    agents: [{ ext: '101', name: 'Anna', answerAfterSeconds: 2 }],
    calls: [{ id: 'x', at: '2026-11-02T10:00:00', from: '+79160000001', to: `+7495${n}` }],
  });
  p = await provisionScenario(h.pool, s, uniq('rec-lab'));
  await lab.addAgents(p.accountId, [{ ext: '101', answerAfterSeconds: 2 }]);
});
afterAll(async () => {
  await app?.close();
  await lab?.stop();
  await h?.stop();
  await closeAll();
});

describe('a call answered in the lab', () => {
  it('answered for 90 s (lab time) lands in S3 as a playable MP3 of 90 s ± 1 s with a matching checksum, and plays', async () => {
    const caller = `+7916${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}`;
    const { call, finished } = lab.actors.place(
      lab.sw,
      { id: 'rec', patienceSeconds: 120, press: [], talkSeconds: 90 },
      { caller, destination: s.channels[0]!.numbers[0]!, sipHeaders: { 'X-CP-Account': p.accountId } },
    );
    const record = await finished;
    const callId = call.uuid;
    await waitFor(async () => (await h.events('call.hangup')).some((e) => e.callId === callId), 20_000, 'the hangup event');
    const hangup = (await h.events('call.hangup')).find((e) => e.callId === callId)!;
    if (hangup.type !== 'call.hangup') throw new Error('unreachable');
    // The router asked record_session for a file in the spool, and the lab wrote it there.
    expect(hangup.recordingPath).toMatch(new RegExp(`^${h.spool}/2026-11-02/${callId}\\.wav$`));
    expect(record.executes.filter((x) => x.app === 'record_session').map((x) => x.arg)).toEqual([hangup.recordingPath]);
    expect(Math.abs(hangup.talkSeconds - 90)).toBeLessThanOrEqual(1);
    expect(lab.actors.violations).toEqual([]);

    await waitFor(async () => (await h.handle.repo.byCall(p.accountId, callId)).length > 0, 60_000, 'the recording row');
    const [r] = await h.handle.repo.byCall(p.accountId, callId);
    expect(r).toMatchObject({ format: 'mp3', userId: p.users.get('101'), bucket: h.s3.bucket, deletedAt: null });
    expect(r!.key).toBe(`${p.accountId}/2026/11/02/${callId}.mp3`);
    expect(Math.abs(r!.durationSeconds - 90)).toBeLessThanOrEqual(1);

    // The object in S3: its sha256 is the row's, and ffprobe reads a stereo MP3 of 90 s ± 1 s.
    const obj = await h.handle.store.get(r!.key);
    const chunks: Buffer[] = [];
    for await (const c of obj.body as AsyncIterable<Buffer>) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    expect(bytes.length).toBe(r!.sizeBytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(r!.sha256);
    const file = join(h.spool, `${callId}.downloaded.mp3`);
    await writeFile(file, bytes);
    const probe = await new FfmpegTranscoder().probe(file);
    expect(probe).toMatchObject({ codec: 'mp3', channels: 2 });
    expect(Math.abs(probe.durationSeconds - 90)).toBeLessThanOrEqual(1);
    // Caller and manager on their own channels: the caller speaks the first 2 s, then the manager.
    const mean = (ch: number, from: number, to: number) => {
      const per = r!.peaks.buckets / r!.durationSeconds;
      const xs = r!.peaks.data[ch]!.slice(Math.round(from * per), Math.round(to * per));
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(mean(0, 0.2, 1.8)).toBeGreaterThan(4 * mean(1, 0.2, 1.8));
    expect(mean(1, 2.2, 3.8)).toBeGreaterThan(4 * mean(0, 2.2, 3.8));

    // The WAV is gone once the upload is verified and recorded.
    await h.handle.idle();
    expect(existsSync(hangup.recordingPath!)).toBe(false);

    // The sales head's one click: the audited route redirects to a signed link that serves ranges.
    const head = await createPerson(h.pool, p.accountId, 'sales_head');
    const res = await app.inject({ method: 'GET', url: `/api/calls/${callId}/recording`, headers: { authorization: `Bearer ${head.token}` } });
    expect(res.statusCode).toBe(302);
    const media = await app.inject({ method: 'GET', url: String(res.headers.location), headers: { range: 'bytes=0-4095' } });
    expect(media.statusCode).toBe(206);
    expect(media.headers['content-type']).toBe('audio/mpeg');
    expect(media.headers['content-range']).toBe(`bytes 0-4095/${bytes.length}`);
    expect(media.rawPayload.equals(bytes.subarray(0, 4096))).toBe(true);
  });
});
