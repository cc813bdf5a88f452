/**
 * Time as a port. Adapters and sessions take a Clock instead of calling Date.now() or
 * setTimeout directly, so the switch lab can run a scripted day of traffic faster than real
 * time while the router's own timers (ring timeouts, max wait) keep the same virtual time.
 * Domain code takes plain timestamps instead.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch, in this clock's time. */
  now(): number;
  /** Run fn after `ms` of this clock's time. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Resolve after `ms` of this clock's time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Real milliseconds that `ms` of this clock's time take (for delays handed to other systems). */
  toRealMs(ms: number): number;
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      t.cancel();
      reject(signal?.reason);
    };
    const t = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
  sleep(ms, signal) {
    return sleepWith(systemClock, ms, signal);
  },
  toRealMs: (ms) => ms,
};

/**
 * A clock that runs `speed` times faster than real time from a chosen start instant.
 * Used by the lab, `simulate` and `demo`: the router and the lab share one instance when
 * they run in one process. `jumpTo` moves time forward instantly (e.g. overnight when no
 * call is in flight); timers due in the skipped span fire at once, in order.
 */
export class ScaledClock implements Clock {
  private baseVirtual: number;
  private baseReal: number;
  private readonly timers = new Set<{ at: number; fn: () => void; real: ReturnType<typeof setTimeout> | null }>();

  constructor(
    startAt: number,
    readonly speed: number,
  ) {
    if (!(speed > 0)) throw new RangeError('speed must be > 0');
    this.baseVirtual = startAt;
    this.baseReal = performance.now();
  }

  now(): number {
    return this.baseVirtual + (performance.now() - this.baseReal) * this.speed;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const entry = { at: this.now() + Math.max(0, ms), fn, real: null as ReturnType<typeof setTimeout> | null };
    this.timers.add(entry);
    this.arm(entry);
    return {
      cancel: () => {
        if (entry.real) clearTimeout(entry.real);
        this.timers.delete(entry);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  toRealMs(ms: number): number {
    return ms / this.speed;
  }

  /** Move virtual time forward to `at` (never backward). */
  jumpTo(at: number): void {
    const now = this.now();
    if (at <= now) return;
    this.baseVirtual = at;
    this.baseReal = performance.now();
    const due = [...this.timers].sort((a, b) => a.at - b.at);
    for (const t of due) {
      if (t.real) clearTimeout(t.real);
      this.arm(t);
    }
  }

  /** The earliest pending timer, if any: lets a driver jump over idle time. */
  nextTimerAt(): number | null {
    let min: number | null = null;
    for (const t of this.timers) if (min === null || t.at < min) min = t.at;
    return min;
  }

  private arm(entry: { at: number; fn: () => void; real: ReturnType<typeof setTimeout> | null }): void {
    const realMs = Math.max(0, Math.ceil((entry.at - this.now()) / this.speed));
    entry.real = setTimeout(() => {
      // setTimeout works in whole real milliseconds; at high speeds that rounding is seconds
      // of lab time, so fire only once lab time has really reached the deadline.
      if (this.now() < entry.at) return this.arm(entry);
      this.timers.delete(entry);
      entry.fn();
    }, realMs);
  }
}
