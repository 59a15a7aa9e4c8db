// MLflow's error vocabulary for the embedded server: error_code -> HTTP status, and the {"error_code","message"} body.

export const MLFLOW_ERROR_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  INVALID_STATE: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  RESOURCE_CONFLICT: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
} as const;
export type MlflowErrorCode = keyof typeof MLFLOW_ERROR_STATUS;

/** Thrown by the server's resource modules; rendered once by the app's error handler. */
export class MlflowApiError extends Error {
  readonly status: number;
  constructor(
    readonly errorCode: MlflowErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "MlflowApiError";
    this.status = MLFLOW_ERROR_STATUS[errorCode];
  }
  toBody(): { error_code: string; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const invalid = (message: string): MlflowApiError => new MlflowApiError("INVALID_PARAMETER_VALUE", message);
export const notFound = (message: string): MlflowApiError => new MlflowApiError("RESOURCE_DOES_NOT_EXIST", message);
export const exists = (message: string): MlflowApiError => new MlflowApiError("RESOURCE_ALREADY_EXISTS", message);
