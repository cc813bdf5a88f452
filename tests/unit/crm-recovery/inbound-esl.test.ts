/**
 * Contract: the lab's inbound event socket answers like FreeSWITCH (checked against the
 * verbatim captures 05 BACKGROUND_JOB and 07 bgapi reply), and the production Dialer — modesl's
 * inbound Connection — drives it over real TCP: auth, event subscription, bgapi originate.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EslFrameParser, parseEventPlain, type EslFrame } from '../../../call-router/adapters/esl/codec';
import { EslDialer, originateArgs, parseOriginateReply, type OriginateRequest } from '../../../crm-bridge/adapters/dialer';
import { InboundEslServer } from '../../lab/inbound-esl';
import { testLogger } from '../../helpers';
import { SAMPLE, sampleBytes } from '../esl/samples';

const frames = (bytes: Uint8Array | string): EslFrame[] => new EslFrameParser().push(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
const ACCOUNT = '5b0c6a52-3d0f-4a35-9d0a-0a6f3f1f2b11';
const req = (over: Partial<OriginateRequest> = {}): OriginateRequest => ({
  accountId: ACCOUNT, callId: crypto.randomUUID(), to: '+74951234567', agentExt: '101', callerIdNumber: '+74950000001', timeoutSeconds: 20, ...over,
});

describe('the lab inbound socket writes what FreeSWITCH writes', () => {
  const lab = new InboundEslServer();
  afterAll(() => lab.close().catch(() => undefined));

  it('BACKGROUND_JOB: same framing, header set and body as capture 05', () => {
    const sample = frames(sampleBytes(SAMPLE.backgroundJob))[0]!;
    expect(sample.contentType).toBe('text/event-plain');
    const want = parseEventPlain(sample.body);
    const jobUuid = want.headers.get('Job-UUID')!;
    const rendered = lab.backgroundJob(jobUuid, want.headers.get('Job-Command')!, want.headers.get('Job-Command-Arg')!, want.body, 'plain');
    const outer = `Content-Length: ${Buffer.byteLength(rendered)}\nContent-Type: text/event-plain\n\n${rendered}`;
    const got = frames(outer)[0]!;
    const ev = parseEventPlain(got.body);
    expect(ev.body).toBe('+OK 7f4de4bc-17d7-11dd-b7a0-db4edd065621\n');
    expect(ev.body).toBe(want.body);
    for (const h of ['Job-UUID', 'Job-Command', 'Job-Command-Arg', 'Event-Name']) expect(ev.headers.get(h)).toBe(want.headers.get(h));
    // The url-encoding of the argument is byte-identical to the capture.
    expect(rendered).toContain('Job-Command-Arg: sofia/default/1005%20\'%26park\'\n');
    // Same headers, but for what FreeSWITCH added since 2008 (Switchname, Event-Sequence) and
    // the capitalisation of Event-Date-Timestamp.
    const names = (e: typeof ev) => e.headers.entries().map(([k]) => k.toLowerCase()).filter((k) => k !== 'content-length').sort();
    expect(names(ev).filter((k) => k !== 'freeswitch-switchname' && k !== 'event-sequence')).toEqual(names(want));
  });

  it('the bgapi reply carries the Job-UUID header like capture 07', () => {
    const sample = frames(sampleBytes(SAMPLE.bgapiReply))[0]!;
    expect(sample.contentType).toBe('command/reply');
    expect(sample.headers.get('Job-UUID')).toBe('e3054f48-151e-11dc-842a-d3a3942d3d63');
    expect(sample.headers.get('Reply-Text')!.startsWith('+OK')).toBe(true);
  });

  it('greets with auth/request, refuses a wrong password and hangs up', async () => {
    const server = new InboundEslServer({ password: 'right' });
    const addr = await server.listen();
    const sock = net.connect(addr.port, addr.host);
    const parser = new EslFrameParser();
    const got: EslFrame[] = [];
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.on('data', (c) => got.push(...parser.push(c)));
    await new Promise((r) => sock.once('data', r));
    sock.write('auth wrong\n\n');
    await closed;
    await server.close();
    expect(got.map((f) => [f.contentType, f.headers.get('Reply-Text') ?? null])).toEqual([
      ['auth/request', null],
      ['command/reply', '-ERR invalid'],
      ['text/disconnect-notice', null],
    ]);
  });
});

describe('EslDialer (modesl inbound Connection) against the lab', () => {
  let fate: { answer: boolean; cause?: string; afterMs?: number } = { answer: true };
  const lab = new InboundEslServer({ password: 'lab-secret', onOriginate: () => fate });
  let dialer: EslDialer;
  let addr: { host: string; port: number };

  beforeAll(async () => {
    addr = await lab.listen();
    dialer = new EslDialer({ ...addr, password: 'lab-secret', logger: testLogger() });
  });
  afterAll(async () => {
    await dialer.close();
    await lab.close();
  });

  it('originates the client and bridges the manager: connected when the callee answers', async () => {
    fate = { answer: true, afterMs: 30 };
    const r = req();
    expect(await dialer.originate(r)).toEqual({ connected: true, cause: null });
    const o = lab.originates.at(-1)!;
    expect(o.endpoint).toBe('sofia/gateway/carrier/74951234567');
    expect(o.then).toBe(`&bridge(user/101@${ACCOUNT}.callpulse)`);
    expect(o.vars).toMatchObject({ origination_uuid: r.callId, originate_timeout: '20', origination_caller_id_number: '74950000001' });
    // modesl authenticated, subscribed to the events it needs, and sent its own Job-UUID.
    expect(lab.commands.slice(0, 3)).toEqual(['auth ***', 'event json BACKGROUND_JOB CHANNEL_EXECUTE_COMPLETE', expect.stringMatching(/^bgapi originate \{origination_uuid=/)]);
  });

  it('not connected, with the cause, when the callee does not answer; the connection is reused', async () => {
    fate = { answer: false, cause: 'USER_BUSY', afterMs: 10 };
    expect(await dialer.originate(req())).toEqual({ connected: false, cause: 'USER_BUSY' });
    expect(lab.commands.filter((c) => c.startsWith('auth'))).toHaveLength(1);
  });

  it('a wrong password is DIALER_UNAVAILABLE (nothing dialled)', async () => {
    const bad = new EslDialer({ ...addr, password: 'nope', logger: testLogger() });
    await expect(bad.originate(req())).rejects.toMatchObject({ code: 'DIALER_UNAVAILABLE' });
    await bad.close();
  });

  it('parses replies and refuses arguments that would break the dial string', () => {
    expect(parseOriginateReply('-ERR NO_ANSWER\n')).toEqual({ connected: false, cause: 'NO_ANSWER' });
    expect(parseOriginateReply('+OK 7f4de4bc\n')).toEqual({ connected: true, cause: null });
    expect(() => originateArgs(req({ callerIdNumber: '1,evil=1' }))).toThrow(/origination_caller_id_number/);
    expect(() => originateArgs(req({ to: '+7495 123' }))).toThrow(/E\.164/);
  });
});
