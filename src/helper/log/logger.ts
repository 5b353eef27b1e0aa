import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** One of trace, debug, info, warn, error, fatal, silent. */
  readonly level: string;
  /** JSON lines for collectors, or text for people at a terminal. */
  readonly format: 'json' | 'text';
  /** A stream or file descriptor; default stderr, so stdout stays the wrapped program's. */
  readonly destination?: NodeJS.WritableStream | number;
}

const LEVELS = [...Object.keys(pino.levels.values), 'silent'];

/** Keys that carry key material or tokens, censored at the top level and two levels down. */
const SECRET_KEYS = ['privateKey', 'private_key', 'key', 'keyPem', 'token', 'svid', 'jwt', 'x509_svid_key'];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/**
 * Key material and tokens that slip in under other names (a message, an error's stack, a deeper
 * field) are caught in the serialised line. A PEM key cut short has no END line: censor it to the end
 * of its JSON string.
 */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[^"]*)/g;
const JWT = /\beyJ[\w-]+\.[\w-]+\.[\w-]*/g;

function scrub(line: string): string {
  return line.replace(PEM_PRIVATE_KEY, '[REDACTED PRIVATE KEY]').replace(JWT, '[REDACTED JWT]');
}

function scrubbing(target: { write(line: string): unknown }): DestinationStream {
  return { write: (line) => void target.write(scrub(line)) };
}

/**
 * pino writing JSON lines, or text through pino-pretty, both synchronously and on this thread: nothing
 * is lost when the helper exits and no worker thread keeps it alive. Every line passes the scrubber.
 * Async because pino-pretty is loaded only for text: JSON runs (the default) never load it.
 */
export async function createLogger(options: LoggerOptions): Promise<Logger> {
  if (!LEVELS.includes(options.level)) {
    throw new Error(`unknown log level ${JSON.stringify(options.level)}: expected one of ${LEVELS.join(', ')}`);
  }
  const destination = options.destination ?? 2;
  const pretty = options.format === 'text' ? (await import('pino-pretty')).default : undefined;
  const target =
    pretty !== undefined
      ? pretty({
          destination,
          sync: true,
          colorize: typeof destination === 'number' && isatty(destination),
          translateTime: 'SYS:standard',
          ignore: 'pid,hostname',
        })
      : typeof destination === 'number'
        ? pino.destination({ dest: destination, sync: true })
        : destination;
  return pino(
    {
      level: options.level,
      base: { name: 'spiffe-helper' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    scrubbing(target),
  );
}

/** A logger that writes nothing, for tests and library callers that want no logs. */
export const nullLogger: Logger = pino({ level: 'silent' }, { write: () => undefined });
