import { describe, expect, it } from 'vitest';
import { TokenKeeper, type OAuthTokens } from '../../../crm-bridge/connectors/oauth';
import { systemClock } from '../../../platform/clock';

function keeper(expiresAt: number) {
  const persisted: OAuthTokens[] = [];
  let n = 0;
  const k = new TokenKeeper(
    { accessToken: 'a0', refreshToken: 'r0', expiresAt },
    async () => {
      n++;
      await new Promise((r) => setTimeout(r, 20));
      return { accessToken: `a${n}`, refreshToken: `r${n}`, expiresAt: Date.now() + 3_600_000 };
    },
    async (t) => void persisted.push(t),
    systemClock,
  );
  return { k, persisted, refreshes: () => n };
}

describe('TokenKeeper', () => {
  it('refreshes once for many requests rejected with the same token, persisting the new pair', async () => {
    const { k, persisted, refreshes } = keeper(Date.now() + 3_600_000);
    const tokens = await Promise.all([k.afterRejected('a0'), k.afterRejected('a0'), k.afterRejected('a0')]);
    expect(tokens).toEqual(['a1', 'a1', 'a1']);
    expect(refreshes()).toBe(1);
    expect(persisted.map((t) => t.refreshToken)).toEqual(['r1']);
    // A late 401 for the old token does not burn the new refresh token.
    expect(await k.afterRejected('a0')).toBe('a1');
    expect(refreshes()).toBe(1);
  });

  it('refreshes ahead of expiry and hands out the token as is before that', async () => {
    const fresh = keeper(Date.now() + 3_600_000);
    expect(await fresh.k.accessToken()).toBe('a0');
    const stale = keeper(Date.now() + 30_000);
    expect(await stale.k.accessToken()).toBe('a1');
  });
});
