/**
 * Errors with stable codes. Expected outcomes (no route, queue full) are values, not errors;
 * these are for requests we refuse and for infrastructure faults. The HTTP error handler maps
 * an AppError to its status and code, and never leaks the message of anything else.
 */
export class AppError extends Error {
  readonly status: number;
  readonly details: unknown;
  constructor(
    readonly code: string,
    message: string,
    opts: { status?: number; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status ?? 500;
    this.details = opts.details;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`, { status: 404 });
export const forbidden = (why = 'forbidden') => new AppError('FORBIDDEN', why, { status: 403 });
export const unauthorized = () => new AppError('UNAUTHORIZED', 'authentication required', { status: 401 });
export const conflict = (why: string, details?: unknown) => new AppError('CONFLICT', why, { status: 409, details });
