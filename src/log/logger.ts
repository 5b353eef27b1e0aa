import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'text';
  /** A stream or file descriptor; default stderr, so stdout stays the wrapped program's. */
  readonly destination?: NodeJS.WritableStream | number;
}

/** Keys that may carry key material or tokens anywhere in a logged object. */
const SECRET_KEYS = ['privateKey', 'private_key', 'key', 'keyPem', 'token', 'svid', 'jwt', 'x509_svid_key'];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`]);

/** Censors PEM private keys and JWT-looking strings that slip into messages. */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;
const JWT = /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g;

function scrub(text: string): string {
  return text.replace(PEM_PRIVATE_KEY, '[REDACTED PRIVATE KEY]').replace(JWT, '[REDACTED JWT]');
}

/**
 * pino with JSON lines by default, or pino-pretty for terminals, both written synchronously: nothing
 * is lost when the helper exits and no worker thread keeps it alive.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? 2;
  const stream =
    options.format === 'text'
      ? pretty({ destination, sync: true, colorize: false, translateTime: 'SYS:standard', ignore: 'pid,hostname' })
      : typeof destination === 'number'
        ? pino.destination({ dest: destination, sync: true })
        : destination;
  return pino(
    {
      level: options.level,
      base: { name: 'spiffe-helper' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrub(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    stream,
  );
}
