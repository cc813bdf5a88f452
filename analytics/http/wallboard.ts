/**
 * The live wallboard: `GET /api/wallboard` is the snapshot; `/api/live/wallboard` is a
 * WebSocket that sends a fresh snapshot whenever the account's state changes.
 *
 * Why push on nudges rather than poll: the goal is "within 1 s of the event". The router
 * publishes `agents-changed` on every agent or queue change, and analytics publishes
 * `facts-changed` after each committed batch; the hub listens on those channels for the
 * accounts that have a wallboard open, coalesces a burst into one snapshot (debounce), and
 * sends it to that account's sockets only. A slow tick also runs while sockets are open, so
 * the longest wait keeps counting and a phone that drops its registration shows up.
 */
import type { WebSocket } from '@fastify/websocket';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Clock } from '../../platform/clock';
import { principalOf } from '../../platform/http/app';
import type { Logger } from '../../platform/logger';
import type { LiveStateSource } from '../adapters/live-state';
import { buildWallboard, type Wallboard } from '../domain/wallboard';

export interface WallboardOptions {
  source: LiveStateSource;
  /** A dedicated connection: it is put into subscriber mode, and closed with the app. */
  subscriber: Redis;
  clock: Clock;
  logger: Logger;
  /** Coalesce a burst of nudges into one snapshot. */
  debounceMs?: number;
  /** Refresh period while a wallboard is open, for the ticking wait and registrations. */
  tickMs?: number;
}

const HEADS = ['admin', 'sales_head'] as const;

interface Room {
  sockets: Set<WebSocket>;
  channels: string[];
  timer: NodeJS.Timeout | null;
  tick: NodeJS.Timeout;
  running: boolean;
  again: boolean;
}

export class WallboardHub {
  private readonly rooms = new Map<string, Room>();
  private readonly byChannel = new Map<string, string>();
  private readonly debounceMs: number;
  private readonly tickMs: number;

  constructor(private readonly o: WallboardOptions) {
    this.debounceMs = o.debounceMs ?? 30;
    this.tickMs = o.tickMs ?? 2000;
    o.subscriber.on('message', (channel: string) => {
      const accountId = this.byChannel.get(channel);
      if (accountId) this.schedule(accountId);
    });
  }

  snapshot(accountId: string): Promise<Wallboard> {
    const now = this.o.clock.now();
    return this.o.source.snapshotInput(accountId, now).then((input) => buildWallboard({ nowMs: now, ...input }));
  }

  async join(accountId: string, socket: WebSocket): Promise<void> {
    let room = this.rooms.get(accountId);
    if (!room) {
      const channels = this.o.source.channels(accountId);
      room = {
        sockets: new Set(),
        channels,
        timer: null,
        tick: setInterval(() => this.schedule(accountId), this.tickMs),
        running: false,
        again: false,
      };
      this.rooms.set(accountId, room);
      for (const c of channels) this.byChannel.set(c, accountId);
      await this.o.subscriber.subscribe(...channels);
    }
    room.sockets.add(socket);
    socket.on('close', () => this.leave(accountId, socket));
    // The first message is the current state, so the page never shows a stale snapshot.
    this.schedule(accountId, 0);
  }

  private leave(accountId: string, socket: WebSocket) {
    const room = this.rooms.get(accountId);
    if (!room) return;
    room.sockets.delete(socket);
    if (room.sockets.size > 0) return;
    this.closeRoom(accountId, room);
  }

  private closeRoom(accountId: string, room: Room) {
    clearInterval(room.tick);
    if (room.timer) clearTimeout(room.timer);
    this.rooms.delete(accountId);
    for (const c of room.channels) this.byChannel.delete(c);
    void this.o.subscriber.unsubscribe(...room.channels).catch(() => undefined);
  }

  private schedule(accountId: string, delay = this.debounceMs) {
    const room = this.rooms.get(accountId);
    if (!room || room.timer) return;
    room.timer = setTimeout(() => {
      room.timer = null;
      void this.push(accountId, room);
    }, delay);
  }

  private async push(accountId: string, room: Room) {
    // One snapshot at a time per account; a nudge during it asks for one more afterwards.
    if (room.running) {
      room.again = true;
      return;
    }
    room.running = true;
    try {
      const body = JSON.stringify(await this.snapshot(accountId));
      for (const s of room.sockets) if (s.readyState === s.OPEN) s.send(body);
    } catch (err) {
      this.o.logger.warn({ err, accountId }, 'wallboard snapshot failed');
    } finally {
      room.running = false;
      if (room.again) {
        room.again = false;
        this.schedule(accountId);
      }
    }
  }

  async close() {
    for (const [id, room] of this.rooms) {
      for (const s of room.sockets) s.close(1001, 'server closing');
      this.closeRoom(id, room);
    }
    await this.o.subscriber.quit().catch(() => this.o.subscriber.disconnect());
  }
}

export const wallboardRoutes: FastifyPluginAsyncZod<WallboardOptions> = async (app, opts) => {
  const hub = new WallboardHub(opts);
  app.addHook('onClose', () => hub.close());

  app.get(
    '/api/wallboard',
    { config: { roles: HEADS }, schema: { tags: ['reports'], summary: 'Live wallboard snapshot: callers waiting, the longest wait, agents’ states, today’s figures and funnel' } },
    async (req) => hub.snapshot(principalOf(req).accountId),
  );

  app.get(
    '/api/live/wallboard',
    { config: { roles: HEADS }, websocket: true, schema: { tags: ['reports'], summary: 'WebSocket: a wallboard snapshot on every change (and every 2 s while callers wait)' } },
    (socket, req) => {
      void hub.join(principalOf(req).accountId, socket);
    },
  );
};
