/** Plain, person-readable log lines, the way `func start` prints them. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const order: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  /** Printed at every level: the start-up banner. */
  notice(message: string): void;
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = defaultWrite): Logger {
  const at = (l: LogLevel) => (message: string) => {
    if (order[l] <= order[level])
      write(`[${new Date().toISOString()}] ${l === 'info' ? '' : `${l.toUpperCase()}: `}${message}`);
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    notice: (message: string) => write(`[${new Date().toISOString()}] ${message}`),
  };
}

function defaultWrite(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const v = (value ?? 'info').toLowerCase();
  if (v === 'error' || v === 'warn' || v === 'info' || v === 'debug') return v;
  if (v === 'warning') return 'warn';
  if (v === 'information') return 'info';
  throw new Error(`log level '${value ?? ''}' is not one of error, warn, info, debug`);
}
