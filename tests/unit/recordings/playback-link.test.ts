import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, signPlaybackLink, verifyPlaybackLink } from '../../../recordings/domain/playback-link';

const mac = (payload: string) => createHmac('sha256', 'k'.repeat(32)).update(payload).digest('base64url');
const otherMac = (payload: string) => createHmac('sha256', 'x'.repeat(32)).update(payload).digest('base64url');
const now = Date.parse('2026-11-23T10:00:00Z');

function parts(link: string) {
  const u = new URL(link, 'http://h');
  return { callId: decodeURIComponent(u.pathname.split('/').pop()!), f: u.searchParams.get('f') ?? undefined, exp: u.searchParams.get('exp') ?? undefined, sig: u.searchParams.get('sig') ?? undefined };
}

describe('signed playback links', () => {
  const link = signPlaybackLink({ callId: 'call-42', format: 'mp3', nowMs: now, ttlSeconds: 300 }, mac);

  it('point at our media route and verify until they expire', () => {
    expect(link).toMatch(/^\/media\/recordings\/call-42\?f=mp3&exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
    expect(verifyPlaybackLink(parts(link), now, mac)).toEqual({ ok: true, claims: { callId: 'call-42', format: 'mp3', exp: now / 1000 + 300 } });
    expect(verifyPlaybackLink(parts(link), now + 299_999, mac).ok).toBe(true);
    expect(verifyPlaybackLink(parts(link), now + 300_000, mac)).toEqual({ ok: false, code: 'LINK_EXPIRED' });
  });

  it('refuse any change to the call, format, expiry or signature, and another key', () => {
    const p = parts(link);
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    expect(verifyPlaybackLink({ ...p, callId: 'call-43' }, now, mac)).toEqual({ ok: false, code: 'LINK_INVALID' });
    expect(verifyPlaybackLink({ ...p, f: 'opus' }, now, mac)).toEqual({ ok: false, code: 'LINK_INVALID' });
    expect(verifyPlaybackLink({ ...p, exp: String(Number(p.exp) + 3600) }, now, mac)).toEqual({ ok: false, code: 'LINK_INVALID' });
    expect(verifyPlaybackLink({ ...p, sig: flip(p.sig!) }, now, mac)).toEqual({ ok: false, code: 'LINK_INVALID' });
    expect(verifyPlaybackLink({ ...p, sig: undefined }, now, mac)).toEqual({ ok: false, code: 'LINK_INVALID' });
    expect(verifyPlaybackLink({ ...p, exp: '1e12' }, now, mac)).toEqual({ ok: false, code: 'LINK_INVALID' });
    expect(verifyPlaybackLink({ ...p, f: 'wav' }, now, mac)).toEqual({ ok: false, code: 'LINK_INVALID' });
    expect(verifyPlaybackLink(p, now, otherMac)).toEqual({ ok: false, code: 'LINK_INVALID' });
  });

  it('report a forged link as invalid even when its expiry has passed', () => {
    const p = parts(link);
    expect(verifyPlaybackLink({ ...p, callId: 'call-43' }, now + 10 * 3600_000, mac)).toEqual({ ok: false, code: 'LINK_INVALID' });
  });

  it('compare signatures by value', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(a, a)).toBe(true);
      }),
    );
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', 'a')).toBe(false);
  });
});

describe('playbackUrl', () => {
  it('gives other services an absolute link the media route accepts', async () => {
    const { playbackUrl } = await import('../../../recordings/links');
    const { hmacSha256 } = await import('../../../recordings/adapters/hmac');
    const url = new URL(playbackUrl({ publicUrl: 'https://pbx.example.com/', signingKey: 'k'.repeat(32), callId: 'c-9', ttlSeconds: 86_400, nowMs: now }));
    expect(url.origin + url.pathname).toBe('https://pbx.example.com/media/recordings/c-9');
    const q = Object.fromEntries(url.searchParams);
    expect(verifyPlaybackLink({ callId: 'c-9', ...q }, now + 86_399_000, hmacSha256('k'.repeat(32))).ok).toBe(true);
    expect(verifyPlaybackLink({ callId: 'c-9', ...q }, now + 86_400_000, hmacSha256('k'.repeat(32)))).toEqual({ ok: false, code: 'LINK_EXPIRED' });
  });
});
