/**
 * The screen-pop hub: follows the call events, keeps which call each manager's panel shows,
 * and pushes the card to that manager's open sockets (and to no one else's).
 *
 * Latency: the card is looked up in Postgres when the call arrives (`call.arrived`), while the
 * router is still checking the schedule and choosing an agent; the offer then only renders
 * the ready card and writes it to the sockets. Per call, pushes go out in event order (one
 * promise chain per call), so a hangup never overtakes the offer it clears.
 */
import type { WebSocket } from '@fastify/websocket';
import type { CallEvent } from '../../platform/events/contract';
import type { Logger } from '../../platform/logger';
import type { CardSource } from './adapters/card-source';
import type { CallEventFeed } from './adapters/event-tail';
import { reducePop, type CallTrack, type CardBase, type PopCard, type PopPush, type PopView } from './domain/pops';

export interface ScreenPopHubOptions {
  feed: CallEventFeed;
  cards: CardSource;
  logger: Logger;
  /** A short-lived playback link for a call's recording, made when the card is sent. */
  playLink(callId: string): string;
  /** How long the manager who talked keeps the card after the hangup (real ms). */
  endedKeepMs?: number;
  /** A call with no hangup seen after this long is forgotten (its router died). */
  maxCallMs?: number;
}

const RELEVANT = new Set<CallEvent['type']>(['call.arrived', 'call.agent_offered', 'call.agent_result', 'call.answered', 'call.hangup']);

interface CallEntry {
  track: CallTrack | null;
  base: Promise<CardBase | null> | null;
  chain: Promise<void>;
  seenAt: number;
}

interface Pop {
  callId: string;
  base: CardBase;
  view: PopView;
  answeredBy: string | null;
  at: number;
}

const userKey = (accountId: string, userId: string) => `${accountId}:${userId}`;

export class ScreenPopHub {
  private readonly calls = new Map<string, CallEntry>();
  private readonly pops = new Map<string, Pop>();
  private readonly sockets = new Map<string, Set<WebSocket>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly endedKeepMs: number;
  private readonly maxCallMs: number;

  constructor(private readonly o: ScreenPopHubOptions) {
    this.endedKeepMs = o.endedKeepMs ?? 15 * 60_000;
    this.maxCallMs = o.maxCallMs ?? 6 * 3600_000;
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
    o.feed.start((e) => this.onEvent(e));
  }

  /** The card the manager's panel shows now, or null. */
  current(accountId: string, userId: string): PopCard | null {
    const pop = this.pops.get(userKey(accountId, userId));
    return pop ? this.render(pop) : null;
  }

  /** How many panels of this manager are connected. */
  listeners(accountId: string, userId: string): number {
    return this.sockets.get(userKey(accountId, userId))?.size ?? 0;
  }

  /** A manager's panel connected: it gets the current card at once, then every change. */
  join(accountId: string, userId: string, socket: WebSocket): void {
    const key = userKey(accountId, userId);
    const set = this.sockets.get(key) ?? new Set<WebSocket>();
    this.sockets.set(key, set);
    set.add(socket);
    socket.on('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.sockets.get(key) === set) this.sockets.delete(key);
    });
    socket.send(JSON.stringify({ call: this.current(accountId, userId) }));
  }

  onEvent(e: CallEvent): void {
    if (!RELEVANT.has(e.type)) return;
    let entry = this.calls.get(e.callId);
    if (!entry) {
      entry = { track: null, base: null, chain: Promise.resolve(), seenAt: Date.now() };
      this.calls.set(e.callId, entry);
    }
    if (e.type === 'call.arrived' && !entry.base) {
      entry.base = this.o.cards.build(e).catch((err: unknown) => {
        this.o.logger.warn({ err, callId: e.callId }, 'screen pop: building the card failed');
        return null;
      });
    }
    const { track, pushes } = reducePop(entry.track, e);
    entry.track = track;
    const base = entry.base;
    for (const p of pushes) entry.chain = entry.chain.then(() => this.deliver(p, base)).catch((err: unknown) => this.o.logger.warn({ err }, 'screen pop: push failed'));
    if (!track) this.calls.delete(e.callId);
  }

  private async deliver(p: PopPush, basePromise: Promise<CardBase | null> | null): Promise<void> {
    const key = userKey(p.accountId, p.userId);
    if (!p.view) {
      // Clear only the call it is about: the panel may already show a newer one.
      if (this.pops.get(key)?.callId !== p.callId) return;
      this.pops.delete(key);
      this.send(key, null);
      return;
    }
    const base = basePromise ? await basePromise : null;
    if (!base) {
      this.o.logger.warn({ callId: p.callId, userId: p.userId }, 'screen pop: no card for an offered call (its arrival was not seen)');
      return;
    }
    const current = this.pops.get(key);
    // A late update of an older call must not replace the call ringing now.
    if (current && current.callId !== p.callId && p.view.state !== 'ringing') return;
    const answeredBy = p.view.answeredByUserId ? await this.o.cards.userName(p.accountId, p.view.answeredByUserId) : null;
    const pop: Pop = { callId: p.callId, base, view: p.view, answeredBy, at: Date.now() };
    this.pops.set(key, pop);
    this.send(key, this.render(pop));
  }

  private render(pop: Pop): PopCard {
    return {
      ...pop.base,
      state: pop.view.state,
      answeredBy: pop.answeredBy,
      offeredAt: pop.view.offeredAt,
      lastCalls: pop.base.lastCalls.map(({ hasRecording, ...c }) => ({ ...c, playUrl: hasRecording ? this.o.playLink(c.callId) : null })),
    };
  }

  private send(key: string, card: PopCard | null) {
    const set = this.sockets.get(key);
    if (!set) return;
    const body = JSON.stringify({ call: card });
    for (const s of set) if (s.readyState === s.OPEN) s.send(body);
  }

  private sweep() {
    const now = Date.now();
    for (const [key, pop] of this.pops) {
      if (pop.view.state === 'ended' && now - pop.at > this.endedKeepMs) {
        this.pops.delete(key);
        this.send(key, null);
      }
    }
    for (const [id, entry] of this.calls) if (now - entry.seenAt > this.maxCallMs) this.calls.delete(id);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.o.feed.stop();
    for (const set of this.sockets.values()) for (const s of set) s.close(1001, 'server closing');
    this.sockets.clear();
  }
}
