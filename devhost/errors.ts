/** Error codes the devhost reports; each message names what was wrong and what to do. */
export type DevHostErrorCode =
  | 'APP_MAIN_NOT_FOUND'
  | 'APP_MAIN_EMPTY'
  | 'APP_MODULE_FAILED'
  | 'PORT_IN_USE'
  | 'AZURITE_FAILED'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'GONE'
  | 'UNSUPPORTED';

export class DevHostError extends Error {
  constructor(
    readonly code: DevHostErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DevHostError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
