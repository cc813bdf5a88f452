/**
 * FreeSWITCH ringing a manager: the INVITE for user/<ext>@<account>.callpulse arrives from
 * FreeSWITCH and the gateway delivers it to the phone's registered contact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, testPool, testRedis } from '../../helpers';
import { SipMessage } from '../../drachtio-standin/sip-message';
import { createExtension, registerWithAuth, sample, startRig, type Rig } from './harness';

const pool = testPool();
const redis = testRedis();
let rig: Rig;
let realm: string;

beforeAll(async () => {
  rig = await startRig(pool, redis);
  realm = `${rig.accountId}.callpulse`;
  await createExtension(pool, rig.accountId, realm, '101', 'agent-secret-101');
});
afterAll(async () => {
  await rig.close();
  await closeAll();
});

function fsInvite(ext: string): SipMessage {
  const m = SipMessage.parse(sample('10-INVITE-carrier-with-SDP-PCMA-telephone-event.sip'));
  const id = Math.random().toString(16).slice(2, 10);
  m.startLine = `INVITE sip:${ext}@${realm} SIP/2.0`;
  m.set('To', `<sip:${ext}@${realm}>`);
  m.set('From', `<sip:+79160000001@127.0.0.1:5080>;tag=${id}`);
  m.set('Call-ID', `${id}@127.0.0.1`);
  m.set('Via', `SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-${id}`);
  return m;
}

describe('calls from FreeSWITCH to a softphone', () => {
  it('delivers the INVITE to the registered phone and connects it', async () => {
    const phone = rig.standin.peer('203.0.113.41', 5062);
    const reg = await registerWithAuth(phone, { ext: '101', realm, contact: '<sip:101@203.0.113.41:5062>', password: 'agent-secret-101' });
    expect(reg.final.status).toBe(200);
    const rang = new Promise<string>((resolve) => {
      phone.onRequest = (inv) => {
        resolve(inv.request.startLine);
        inv.respond(200, 'OK', { body: SipMessage.parse(sample('12-200-OK-INVITE-with-SDP.sip')).body });
      };
    });
    const call = rig.fs.send(fsInvite('101'));
    expect(await rang).toMatch(/^INVITE sip:101@203\.0\.113\.41:5062/);
    expect((await call.final()).status).toBe(200);
  });

  it('answers 480 when the extension has no registered phone, and 404 for a stranger URI', async () => {
    expect((await rig.fs.send(fsInvite('102')).final()).status).toBe(480);
    const odd = fsInvite('101');
    odd.startLine = 'INVITE sip:101@example.org SIP/2.0';
    expect((await rig.fs.send(odd).final()).status).toBe(404);
  });
});
