// The domain error taxonomy. Errors are translated to HTTP once, at the boundary (toHttpError), with safe messages.

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. "data.spec.replicas" or "specversion". */
  readonly field: string;
  readonly message: string;
}

abstract class FlywheelError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input from a caller: HTTP 400, never retried. `issues` name each field. */
export class ValidationError extends FlywheelError {
  readonly status = 400;
  readonly code = "INVALID_ARGUMENT";
  constructor(
    readonly issues: readonly FieldIssue[],
    message = `invalid input: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
  ) {
    super(message);
  }
}

export class NotFoundError extends FlywheelError {
  readonly status = 404;
  readonly code = "NOT_FOUND";
}

export class ConflictError extends FlywheelError {
  readonly status = 409;
  readonly code = "CONFLICT";
}

export class UnauthorizedError extends FlywheelError {
  readonly status = 401;
  readonly code = "UNAUTHENTICATED";
}

export class ForbiddenError extends FlywheelError {
  readonly status = 403;
  readonly code = "PERMISSION_DENIED";
}

export class PayloadTooLargeError extends FlywheelError {
  readonly status = 413;
  readonly code = "PAYLOAD_TOO_LARGE";
}

export class UnsupportedMediaTypeError extends FlywheelError {
  readonly status = 415;
  readonly code = "UNSUPPORTED_MEDIA_TYPE";
}

/** An outside system (Kubernetes, MLflow, a V2 server) failed. `retryable` tells the broker whether to try again. */
export class UpstreamError extends FlywheelError {
  readonly status: number;
  readonly code = "UPSTREAM_ERROR";
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.status = options?.status ?? (retryable ? 503 : 502);
  }
}

/** Invalid configuration at start-up. Not an HTTP error: the process refuses to start. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export type KnownError =
  | ValidationError
  | NotFoundError
  | ConflictError
  | UnauthorizedError
  | ForbiddenError
  | PayloadTooLargeError
  | UnsupportedMediaTypeError
  | UpstreamError;

export function isKnownError(e: unknown): e is KnownError {
  return e instanceof FlywheelError;
}

export interface HttpErrorBody {
  error: string;
  code: string;
  issues?: readonly FieldIssue[];
}

/** The one translation from an error to an HTTP status and a body that is safe to send. */
export function toHttpError(e: unknown): { status: number; body: HttpErrorBody } {
  if (e instanceof ValidationError) {
    return { status: 400, body: { error: e.message, code: e.code, issues: e.issues } };
  }
  if (isKnownError(e)) return { status: e.status, body: { error: e.message, code: e.code } };
  return { status: 500, body: { error: "internal error", code: "INTERNAL" } };
}
