import { EventEmitter } from 'node:events';
import { TrustDomain } from '../svid/index.ts';
import { WorkloadApiClient, WorkloadApiError, formatEndpointAddress, type BackoffPolicy, type ConnectionState, type Watch, type WatchHandler } from '../workload/index.ts';

export interface SourceOptions {
  /** The Workload API address (unix:///path, tcp://IP:port); default SPIFFE_ENDPOINT_SOCKET. */
  readonly endpoint?: string;
  /** A client to share with other sources instead of `endpoint`; close() leaves it open. */
  readonly client?: WorkloadApiClient;
  /** Aborting rejects create() while it waits, and closes the source afterwards. */
  readonly signal?: AbortSignal;
  /** How long create() waits for the first value before rejecting; default 30 s. Infinity waits for ever. */
  readonly timeoutMs?: number;
  /** Retries of a broken stream (a client the source makes itself); default 1 s doubling to 30 s. */
  readonly backoff?: Partial<BackoffPolicy>;
  /**
   * Listeners attached before the streams open, so that they also hear what happens while create()
   * waits (e.g. a daemon reporting 'retrying' and the error before its first SVID).
   */
  readonly on?: { readonly [E in 'error' | 'state']?: (...args: SourceEvents<never>[E]) => void };
}

/** Every source's events: 'update' after each accepted value, 'error' for what was refused or lost. */
export interface SourceEvents<U> {
  update: [U];
  /** A discarded update or a broken stream (the source retries). Emitted only while someone listens. */
  error: [Error];
  state: [ConnectionState];
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A trust domain given as a name, a spiffe://name ID, or parsed. */
export type TrustDomainLike = TrustDomain | string;

export function toTrustDomain(value: TrustDomainLike): TrustDomain {
  return typeof value === 'string' ? TrustDomain.parse(value) : value;
}

/** One Workload API stream a source keeps current: how to open it, and how to take a value in. */
export interface Stream<T> {
  readonly open: (client: WorkloadApiClient, handler: WatchHandler<T>) => Watch;
  /** Takes the value in, or throws to refuse it (the last good value stays). */
  readonly accept: (value: T) => void;
}

/** A typed stream, for start()'s list of streams of different value types. */
export function stream<T>(definition: Stream<T>): Stream<never> {
  return definition as unknown as Stream<never>;
}

/** The connection state of several streams: the worst of them. */
function combined(states: readonly ConnectionState[]): ConnectionState {
  for (const status of ['failed', 'retrying', 'connecting', 'closed'] as const) {
    const found = states.find((state) => state.status === status);
    if (found !== undefined) return found;
  }
  return { status: 'connected' };
}

/**
 * What every source shares: a client (its own or a shared one), streams that re-establish themselves
 * with the client's backoff, a first value awaited with a deadline, events, and a close() that
 * leaves nothing running. Readers always get the last good value: a refused or lost update never
 * clears it.
 */
export abstract class LiveSource<U> extends EventEmitter<SourceEvents<U>> {
  readonly #client: WorkloadApiClient;
  readonly #ownsClient: boolean;
  readonly #watches: Watch[] = [];
  readonly #states: ConnectionState[] = [];
  readonly #signal: AbortSignal | undefined;
  #ready = false;
  #closed = false;
  #lastError: Error | undefined;

  protected constructor(options: SourceOptions) {
    super();
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new WorkloadApiClient({ ...(options.endpoint === undefined ? {} : { address: options.endpoint }), ...(options.backoff === undefined ? {} : { backoff: options.backoff }) });
    this.#signal = options.signal;
    if (options.on?.error !== undefined) this.on('error', options.on.error);
    if (options.on?.state !== undefined) this.on('state', options.on.state);
  }

  /** The state of the source's Workload API streams (the worst of them). */
  get state(): ConnectionState {
    return this.#closed ? { status: 'closed' } : combined(this.#states);
  }

  /** The Workload API client the streams (and any unary calls) use. */
  protected get client(): WorkloadApiClient {
    return this.#client;
  }

  /** Where the source reads from, for messages. */
  get endpoint(): string {
    return formatEndpointAddress(this.#client.address);
  }

  /** The value 'update' listeners get, once every stream has delivered. */
  protected abstract snapshot(): U;

  /** What the source waits for, for the deadline message ("X.509 context"). */
  protected abstract readonly awaited: string;

  /** Opens the streams and resolves once each has delivered an accepted value. */
  protected async start(streams: readonly Stream<never>[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    const signal = this.#signal;
    if (signal?.aborted === true) {
      await this.close();
      throw signal.reason;
    }
    const pending = new Set<Stream<never>>(streams);
    const { promise: first, ...settle } = Promise.withResolvers<void>();
    streams.forEach((stream, index) => {
      this.#states[index] = { status: 'connecting' };
      const watch = stream.open(this.#client, {
        onUpdate: (value) => {
          try {
            stream.accept(value as never);
          } catch (error) {
            this.report(error as Error);
            return;
          }
          pending.delete(stream);
          if (pending.size > 0) return;
          if (!this.#ready) {
            this.#ready = true;
            settle.resolve();
          }
          this.emit('update', ...([this.snapshot()] as [U]));
        },
        onError: (error) => this.report(error),
        onStateChange: (state) => {
          this.#states[index] = state;
          if (!this.#closed) this.emit('state', this.state);
        },
      });
      this.#watches.push(watch);
      // A fatal error (InvalidArgument, Unimplemented) ends the stream for good: no retry can help.
      watch.done.catch((error: Error) => {
        this.report(error);
        settle.reject(error);
      });
    });
    const onAbort = (): void => {
      settle.reject(signal!.reason);
      void this.close();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          const why = this.#lastError === undefined ? 'nothing arrived' : `last error: ${this.#lastError.message}`;
          const message = `no ${this.awaited} from the Workload API at ${this.endpoint} within ${timeoutMs} ms (${why})`;
          settle.reject(new WorkloadApiError('DeadlineExceeded', message, this.#lastError?.message ?? ''));
        }, timeoutMs)
      : undefined;
    try {
      await first;
    } catch (error) {
      signal?.removeEventListener('abort', onAbort);
      await this.close();
      throw error;
    } finally {
      clearTimeout(deadline);
    }
    // After creation the signal closes the source.
    if (signal !== undefined) {
      signal.removeEventListener('abort', onAbort);
      signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** Reports a problem the source rode out (an 'error' event when someone listens). */
  protected report(error: Error): void {
    this.#lastError = error;
    // An unheard 'error' would throw and crash the program over an outage the source rides out.
    if (!this.#closed && this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** Ends every stream (and the client, unless it was given); resolves once nothing is left running. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of this.#watches) watch.close();
    if (this.#ownsClient) this.#client.close();
    await Promise.allSettled(this.#watches.map((watch) => watch.done));
  }

  get closed(): boolean {
    return this.#closed;
  }
}
