export { createLogger, scrub, type Logger, type LoggerOptions } from './logger.ts';
