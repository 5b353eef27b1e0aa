/** The logging the process module needs; pino's Logger satisfies it. */
export interface ProcessLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

export const silentLogger: ProcessLogger = { info() {}, warn() {}, error() {} };
