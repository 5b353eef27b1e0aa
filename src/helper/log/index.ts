export { createLogger, nullLogger, type Logger, type LoggerOptions } from './logger.ts';
export { errorMessage, toError } from './error-message.ts';
