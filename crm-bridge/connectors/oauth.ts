/**
 * OAuth2 access/refresh tokens of one connected CRM account. Both vendors hand out
 * short-lived access tokens (amoCRM one day, Bitrix24 one hour) and SINGLE-USE refresh
 * tokens ("Refresh token можно обменять только один раз"), so:
 * - a refresh is single-flight: concurrent requests that hit an expired token share one;
 * - the new pair is persisted (`persist`) before anyone uses it, or the next process start
 *   would present a refresh token the vendor already burnt and the account would need a
 *   manual reconnect.
 */
import type { Clock } from '../../platform/clock';

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

/** Refresh a little early: a token that expires in flight would cost a 401 round trip. */
const EARLY_MS = 60_000;

export class TokenKeeper {
  private refreshing: Promise<OAuthTokens> | null = null;

  constructor(
    private tokens: OAuthTokens,
    private readonly refresh: (refreshToken: string) => Promise<OAuthTokens>,
    private readonly persist: (tokens: OAuthTokens) => Promise<void>,
    private readonly clock: Clock,
  ) {}

  /** A usable access token, refreshed first when it has expired. */
  async accessToken(): Promise<string> {
    if (this.tokens.expiresAt - EARLY_MS <= this.clock.now()) return (await this.refreshOnce(this.tokens.accessToken)).accessToken;
    return this.tokens.accessToken;
  }

  /** The vendor rejected `rejected` (401): refresh, unless another request already has. */
  async afterRejected(rejected: string): Promise<string> {
    if (rejected !== this.tokens.accessToken) return this.tokens.accessToken;
    return (await this.refreshOnce(rejected)).accessToken;
  }

  private refreshOnce(stale: string): Promise<OAuthTokens> {
    if (this.refreshing) return this.refreshing;
    if (stale !== this.tokens.accessToken) return Promise.resolve(this.tokens);
    this.refreshing = (async () => {
      try {
        const next = await this.refresh(this.tokens.refreshToken);
        this.tokens = next;
        await this.persist(next);
        return next;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }
}
