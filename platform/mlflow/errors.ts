// MLflow error bodies ({"error_code","message"}) mapped onto Flywheel's error taxonomy, keeping MLflow's code.
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError, UpstreamError, ValidationError } from "../errors.ts";

export interface MlflowErrorInfo {
  /** MLflow's error_code, e.g. RESOURCE_DOES_NOT_EXIST. */
  readonly errorCode: string;
  readonly httpStatus: number;
}

export class MlflowNotFoundError extends NotFoundError implements MlflowErrorInfo {
  constructor(message: string, readonly errorCode: string, readonly httpStatus: number) {
    super(message);
  }
}

export class MlflowAlreadyExistsError extends ConflictError implements MlflowErrorInfo {
  constructor(message: string, readonly errorCode: string, readonly httpStatus: number) {
    super(message);
  }
}

export class MlflowInvalidParameterError extends ValidationError implements MlflowErrorInfo {
  constructor(message: string, readonly errorCode: string, readonly httpStatus: number) {
    super([{ field: "mlflow", message }], message);
  }
}

export class MlflowUnauthenticatedError extends UnauthorizedError implements MlflowErrorInfo {
  constructor(message: string, readonly errorCode: string, readonly httpStatus: number) {
    super(message);
  }
}

export class MlflowPermissionDeniedError extends ForbiddenError implements MlflowErrorInfo {
  constructor(message: string, readonly errorCode: string, readonly httpStatus: number) {
    super(message);
  }
}

/** Anything else: 5xx, 429, unknown codes, unreachable server. retryable says whether trying again may help. */
export class MlflowUpstreamError extends UpstreamError implements MlflowErrorInfo {
  constructor(message: string, retryable: boolean, readonly errorCode: string, readonly httpStatus: number, cause?: unknown) {
    super(message, retryable, { cause, status: retryable ? 503 : 502 });
  }
}

export type MlflowError =
  | MlflowNotFoundError
  | MlflowAlreadyExistsError
  | MlflowInvalidParameterError
  | MlflowUnauthenticatedError
  | MlflowPermissionDeniedError
  | MlflowUpstreamError;

const NOT_FOUND = new Set(["RESOURCE_DOES_NOT_EXIST", "ENDPOINT_NOT_FOUND", "NOT_FOUND"]);
const INVALID = new Set(["INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "MALFORMED_REQUEST", "INVALID_REQUEST"]);

/** Build the typed error for a non-2xx MLflow answer. The message is MLflow's own, truncated; the raw body is not kept. */
export function mlflowError(status: number, body: unknown, context: string): MlflowError {
  const code = typeof body === "object" && body !== null && "error_code" in body && typeof body.error_code === "string" ? body.error_code : "";
  const raw = typeof body === "object" && body !== null && "message" in body && typeof body.message === "string" ? body.message : "";
  const message = `${context}: ${raw ? raw.slice(0, 500) : `HTTP ${status}`}`;
  const errorCode = code || `HTTP_${status}`;
  if (NOT_FOUND.has(code) || (!code && status === 404)) return new MlflowNotFoundError(message, errorCode, status);
  if (code === "RESOURCE_ALREADY_EXISTS") return new MlflowAlreadyExistsError(message, errorCode, status);
  if (code === "UNAUTHENTICATED" || status === 401) return new MlflowUnauthenticatedError(message, errorCode, status);
  if (code === "PERMISSION_DENIED" || status === 403) return new MlflowPermissionDeniedError(message, errorCode, status);
  if (INVALID.has(code) || (!code && status === 400)) return new MlflowInvalidParameterError(message, errorCode, status);
  return new MlflowUpstreamError(message, status === 429 || status >= 500, errorCode, status);
}

export const isAlreadyExists = (e: unknown): e is MlflowAlreadyExistsError => e instanceof MlflowAlreadyExistsError;
export const isNotFound = (e: unknown): e is MlflowNotFoundError => e instanceof MlflowNotFoundError;

/** The request never got an answer (connection refused, reset, timed out): the server may or may not have handled it. */
export const isConnectionError = (e: unknown): e is MlflowUpstreamError => e instanceof MlflowUpstreamError && e.errorCode === "CONNECTION_ERROR";
