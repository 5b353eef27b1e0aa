import { Metadata, credentials, status as Status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { SpiffeId, type JwtBundleSet, type JwtSvid, type X509BundleSet } from '../svid/index.ts';
import { Backoff, type BackoffPolicy } from '../backoff.ts';
import { grpcTarget, resolveEndpointAddress, type EndpointAddress } from './endpoint.ts';
import { WorkloadApiError, workloadApiError } from './errors.ts';
import { toJwtBundles, toJwtSvids, toValidation, toX509Bundles, toX509Context, type X509Context } from './messages.ts';
import { SpiffeWorkloadApi, type JwtSvidResponse, type ValidateJwtSvidResponse, type WorkloadApiStub } from './proto.ts';

export type ConnectionState =
  | { readonly status: 'connecting' }
  /** A good message arrived on the stream. */
  | { readonly status: 'connected' }
  | { readonly status: 'retrying'; readonly error: WorkloadApiError; readonly retryInMs: number }
  | { readonly status: 'failed'; readonly error: WorkloadApiError }
  | { readonly status: 'closed' };

/** One word for the connection's state, as health and metrics report it. */
export type ConnectionStatus = ConnectionState['status'];

/** Called synchronously from the stream; an exception a handler throws is not caught (it is the caller's bug). */
export interface WatchHandler<T> {
  /** A fresh, validated value built from one whole message: anything absent from it is gone. */
  onUpdate(value: T): void;
  /** A discarded invalid message, or a stream error before a retry. */
  onError?(error: WorkloadApiError | Error): void;
  onStateChange?(state: ConnectionState): void;
}

export interface Watch {
  close(): void;
  /** Resolves on close(); rejects with the WorkloadApiError that ended the watch for good. */
  readonly done: Promise<void>;
}

export interface WorkloadApiClientOptions {
  /** unix:///path, tcp://IP:port or an absolute path; default SPIFFE_ENDPOINT_SOCKET. */
  readonly address?: string;
  /** Retries of a broken stream; default 1 s doubling to 30 s, with jitter. */
  readonly backoff?: Partial<BackoffPolicy>;
}

export interface CallOptions {
  /** Aborting cancels the call; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The call's deadline; default 30 s. */
  readonly timeoutMs?: number;
}

/** The spec's mandatory SSRF guard: every call carries it (SPIFFE_Workload_Endpoint.md section 3). */
function securityHeader(): Metadata {
  const metadata = new Metadata();
  metadata.set('workload.spiffe.io', 'true');
  return metadata;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A SPIFFE Workload API client: one gRPC channel, streaming watches that re-establish themselves
 * with capped exponential backoff and jitter, and the unary JWT calls.
 */
export class WorkloadApiClient {
  readonly address: EndpointAddress;
  readonly #stub: WorkloadApiStub;
  readonly #backoff: Partial<BackoffPolicy>;
  readonly #watches = new Set<Watch>();
  /** Unary calls in flight, with how to fail each when the client closes. */
  readonly #calls = new Map<{ cancel(): void }, (error: Error) => void>();
  #closed = false;

  constructor(options: WorkloadApiClientOptions = {}) {
    this.address = resolveEndpointAddress(options.address);
    this.#backoff = options.backoff ?? {};
    const { maxMs } = new Backoff(this.#backoff).policy;
    this.#stub = new SpiffeWorkloadApi(grpcTarget(this.address), credentials.createInsecure(), {
      // The agent is local: notice a restarted agent quickly rather than after grpc's 120 s default,
      // and the channel never waits longer to reconnect than a watch waits to retry.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': Math.min(5_000, maxMs),
    }) as WorkloadApiStub;
  }

  watchX509Context(handler: WatchHandler<X509Context>): Watch {
    return this.#watch('FetchX509SVID', (message) => toX509Context(message as never), handler);
  }

  watchX509Bundles(handler: WatchHandler<X509BundleSet>): Watch {
    return this.#watch('FetchX509Bundles', (message) => toX509Bundles(message as never), handler);
  }

  watchJwtBundles(handler: WatchHandler<JwtBundleSet>): Watch {
    return this.#watch('FetchJWTBundles', (message) => toJwtBundles(message as never), handler);
  }

  /** FetchJWTSVID: one token per identity (or only `spiffeId`'s), for `audience` plus `extraAudiences`. */
  async fetchJwtSvid(
    params: { audience: string; extraAudiences?: readonly string[]; spiffeId?: string },
    options: CallOptions = {},
  ): Promise<JwtSvid[]> {
    if (params.audience === '') throw new TypeError('FetchJWTSVID needs a non-empty audience');
    const request = {
      audience: [params.audience, ...(params.extraAudiences ?? [])],
      spiffe_id: params.spiffeId === undefined ? '' : SpiffeId.parse(params.spiffeId).toString(),
    };
    return toJwtSvids(await this.#unary<JwtSvidResponse>('FetchJWTSVID', request, options));
  }

  /** ValidateJWTSVID: the agent checks the token's signature, expiry and audience. */
  async validateJwtSvid(token: string, audience: string, options: CallOptions = {}): Promise<{ id: SpiffeId; claims: Record<string, unknown> }> {
    if (token === '' || audience === '') throw new TypeError('ValidateJWTSVID needs a non-empty token and audience');
    return toValidation(await this.#unary<ValidateJwtSvidResponse>('ValidateJWTSVID', { audience, svid: token }, options));
  }

  /** Ends every watch and call at once; afterwards nothing of the client keeps the process alive. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of [...this.#watches]) watch.close();
    // Closing the channel leaves started calls (and their deadline timers) running: cancel them.
    for (const [call, fail] of [...this.#calls]) {
      fail(new WorkloadApiError('Cancelled', 'the Workload API client was closed', ''));
      call.cancel();
    }
    this.#stub.close();
  }

  #unary<R>(method: string, request: object, options: CallOptions): Promise<R> {
    if (this.#closed) return Promise.reject(new Error('the Workload API client is closed'));
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return new Promise<R>((resolve, reject) => {
      const call = this.#stub[method]!(request, securityHeader(), { deadline }, (error: ServiceError | null, response: R) => {
        this.#calls.delete(call);
        signal?.removeEventListener('abort', abort);
        if (error === null) resolve(response);
        else reject(workloadApiError(error, this.address, method));
      }) as { cancel(): void };
      const abort = (): void => {
        reject(signal!.reason);
        call.cancel();
      };
      this.#calls.set(call, reject);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  #watch<T>(method: string, convert: (message: unknown) => T, handler: WatchHandler<T>): Watch {
    let call: ClientReadableStream<unknown> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const backoff = new Backoff(this.#backoff);
    let stopped = false;
    const { promise: done, ...settle } = Promise.withResolvers<void>();
    // A watch nobody awaits must not crash the process with an unhandled rejection.
    done.catch(() => undefined);

    const report = (state: ConnectionState): void => handler.onStateChange?.(state);
    const stop = (): void => {
      stopped = true;
      clearTimeout(timer);
      call?.cancel();
      this.#watches.delete(watch);
    };

    const connect = (): void => {
      if (stopped) return;
      report({ status: 'connecting' });
      let ended = false;
      let connectedReported = false;
      const stream = this.#stub[method]!({}, securityHeader()) as ClientReadableStream<unknown>;
      call = stream;
      stream.on('data', (message: unknown) => {
        if (stopped) return;
        let value: T;
        try {
          value = convert(message);
        } catch (error) {
          handler.onError?.(error as Error);
          return;
        }
        if (!connectedReported) report({ status: 'connected' });
        connectedReported = true;
        backoff.reset();
        handler.onUpdate(value);
      });
      const onEnd = (status: { code: number; details: string }): void => {
        if (ended || stopped) return;
        ended = true;
        const error =
          status.code === Status.OK
            ? workloadApiError({ code: Status.UNAVAILABLE, details: 'the server ended the stream' }, this.address, method)
            : workloadApiError(status, this.address, method);
        if (error.fatal) {
          stop();
          report({ status: 'failed', error });
          settle.reject(error);
          return;
        }
        const retryInMs = backoff.next();
        handler.onError?.(error);
        report({ status: 'retrying', error, retryInMs });
        timer = setTimeout(connect, retryInMs);
      };
      stream.on('error', (error: ServiceError) => onEnd({ code: error.code, details: error.details }));
      stream.on('status', (status: { code: number; details: string }) => onEnd(status));
    };

    const watch: Watch = {
      done,
      close: () => {
        if (stopped) return;
        stop();
        report({ status: 'closed' });
        settle.resolve();
      },
    };
    if (this.#closed) {
      stopped = true;
      settle.resolve();
      return watch;
    }
    this.#watches.add(watch);
    connect();
    return watch;
  }
}
