import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One root logger per process; sessions and requests take child loggers with their own
 * bindings ({callId, trackingNumber, caller} for a call). JSON to stdout, or stderr for CLIs
 * whose stdout is a document (`simulate --json`).
 */
export function createLogger(opts: { level: string; name?: string; destination?: 1 | 2 }): Logger {
  return pino({ level: opts.level, name: opts.name ?? 'callpulse' }, pino.destination(opts.destination ?? 1));
}
