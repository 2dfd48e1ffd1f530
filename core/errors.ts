/**
 * The error classes parallel-run raises. Each has a code; the HTTP API maps them to 400/404/409 and
 * `{error: {code, message, field?}}`. Messages name what was wrong and what is allowed.
 */
export type ErrorCode =
  | 'INVALID_SETTINGS'
  | 'INVALID_REQUEST'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'EMPTY_DATASET'
  | 'SCRIPT_ERROR'
  | 'MODEL_NOT_FOUND'
  | 'NOT_SUPPORTED'
  /** A request body bigger than the API takes. */
  | 'TOO_LARGE'
  /** The app itself is set up wrong (an app setting): the operator, not the caller, must act. */
  | 'CONFIGURATION';

export class ParallelRunError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ParallelRunError';
  }
}

export interface SettingIssue {
  /** Dotted path of the setting, e.g. `input.container` or `mini_batch_size`. */
  field: string;
  message: string;
}

/** One or more settings are wrong; every issue names its field. */
export class SettingsError extends ParallelRunError {
  constructor(readonly issues: SettingIssue[]) {
    super('INVALID_SETTINGS', issues.map((i) => `${i.field}: ${i.message}`).join('\n'), issues[0]?.field);
    this.name = 'SettingsError';
  }
}

export class NotFoundError extends ParallelRunError {
  constructor(message: string, field?: string) {
    super('NOT_FOUND', message, field);
    this.name = 'NotFoundError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
