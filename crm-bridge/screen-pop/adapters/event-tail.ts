/**
 * The call events as they are appended, for a live view held in this process's memory.
 *
 * Why not a consumer group: a group shares the entries out among its consumers, but every
 * API process needs every event (each holds the sockets of the managers connected to it), and
 * a pop is a view, not a durable effect to apply once. So each process tails the stream with a
 * plain XREAD BLOCK, which returns the moment an entry is appended. On start it replays the
 * last `lookbackMs` of the stream, so after a restart the calls ringing right now pop again.
 *
 * Contract (CallEventFeed): `start(onEvent)` calls `onEvent` once per parsed event, in stream
 * order, until `stop()`; entries that do not parse are skipped (the durable consumers keep
 * them in the dead-letter stream); `onEvent` must not throw and must not block.
 */
import type { Redis } from 'ioredis';
import { parseCallEvent, type CallEvent } from '../../../platform/events/contract';
import type { Logger } from '../../../platform/logger';

export interface CallEventFeed {
  start(onEvent: (e: CallEvent) => void): void;
  stop(): Promise<void>;
}

type Entry = [id: string, fields: string[]];

export class RedisStreamTail implements CallEventFeed {
  private stopping = false;
  private loop: Promise<void> | null = null;

  constructor(
    /** A dedicated connection: XREAD BLOCK holds it, and stop() disconnects it. */
    private readonly redis: Redis,
    private readonly stream: string,
    private readonly logger: Logger,
    private readonly o: { lookbackMs?: number; blockMs?: number } = {},
  ) {}

  start(onEvent: (e: CallEvent) => void): void {
    this.loop = this.run(onEvent);
  }

  private async run(onEvent: (e: CallEvent) => void) {
    let last = `${Math.max(0, Date.now() - (this.o.lookbackMs ?? 120_000))}-0`;
    while (!this.stopping) {
      let res: Array<[string, Entry[]]> | null;
      try {
        res = (await this.redis.xread('COUNT', 500, 'BLOCK', this.o.blockMs ?? 5_000, 'STREAMS', this.stream, last)) as Array<[string, Entry[]]> | null;
      } catch (err) {
        if (this.stopping) return;
        this.logger.warn({ err }, 'screen pop: reading the event stream failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const [id, fields] of res?.[0]?.[1] ?? []) {
        last = id;
        const raw = fields[fields.indexOf('e') + 1];
        let event: CallEvent;
        try {
          event = parseCallEvent(JSON.parse(raw ?? ''));
        } catch {
          continue;
        }
        onEvent(event);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // Breaks the blocking read at once instead of waiting out BLOCK.
    this.redis.disconnect();
    await this.loop?.catch(() => undefined);
  }
}
