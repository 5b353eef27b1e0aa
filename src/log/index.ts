export { createLogger, nullLogger, type Logger, type LoggerOptions } from './logger.ts';
