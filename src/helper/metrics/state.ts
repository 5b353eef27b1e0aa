import type { ConnectionStatus } from '../../spiffe/workload/index.ts';
import type { OutputName } from '../config/index.ts';

/** What the pipeline reports; plain values only, so recording costs nothing when nobody scrapes. */
export type UpdateKind = 'x509_context' | 'jwt_bundles' | 'jwt_svid';
/**
 * Why an update was not written: the Workload API client refused the message (malformed, or failed
 * validation: chain, key, SPIFFE ID), or it holds no SVID the config selects (hint, trust bundle).
 */
export type SkipReason = 'invalid_message' | 'no_matching_svid';
export type NotifyResult = 'ok' | 'failed';

/** The interface the pipeline calls. */
export interface MetricsRecorder {
  updateReceived(kind: UpdateKind): void;
  updateSkipped(kind: UpdateKind, reason: SkipReason): void;
  /** A complete write that changed the files; each written SVID's expiry, by output name. */
  filesWritten(at: Date, expiries: ReadonlyMap<OutputName, Date>): void;
  writeFailed(): void;
  connection(status: ConnectionStatus): void;
  notification(action: string, result: NotifyResult): void;
  programStarted(): void;
  programExited(code: number): void;
  configReload(ok: boolean): void;
  /** After a config reload: outputs no longer configured stop being reported. */
  keepOutputs(outputs: readonly OutputName[]): void;
}

export const CONNECTION_STATUSES: readonly ConnectionStatus[] = ['connecting', 'connected', 'retrying', 'failed', 'closed'];

/** Counts and times since the helper started; a config reload keeps them. Read by the exposition. */
export class HelperMetrics implements MetricsRecorder {
  readonly updatesReceived = new Map<UpdateKind, number>();
  /** Keyed by kind and reason. */
  readonly updatesSkipped = new Map<string, { readonly kind: UpdateKind; readonly reason: SkipReason; count: number }>();
  setsWritten = 0;
  writeFailures = 0;
  /** Milliseconds since the epoch. */
  lastWriteAt: number | undefined;
  /** Output name → the written SVID's notAfter, in ms since the epoch. */
  readonly expiries = new Map<OutputName, number>();
  connectionStatus: ConnectionStatus = 'connecting';
  /** Times the stream failed and a reconnect was scheduled. */
  reconnects = 0;
  readonly notifications = new Map<string, { readonly action: string; readonly result: NotifyResult; count: number }>();
  programStarts = 0;
  readonly programExits = new Map<number, number>();
  readonly configReloads = { ok: 0, failed: 0 };

  updateReceived(kind: UpdateKind): void {
    this.updatesReceived.set(kind, (this.updatesReceived.get(kind) ?? 0) + 1);
  }

  updateSkipped(kind: UpdateKind, reason: SkipReason): void {
    bump(this.updatesSkipped, `${kind} ${reason}`, { kind, reason });
  }

  filesWritten(at: Date, expiries: ReadonlyMap<OutputName, Date>): void {
    this.setsWritten++;
    this.lastWriteAt = at.getTime();
    for (const [output, notAfter] of expiries) this.expiries.set(output, notAfter.getTime());
  }

  writeFailed(): void {
    this.writeFailures++;
  }

  connection(status: ConnectionStatus): void {
    if (status === 'retrying' && this.connectionStatus !== 'retrying') this.reconnects++;
    this.connectionStatus = status;
  }

  notification(action: string, result: NotifyResult): void {
    bump(this.notifications, `${action} ${result}`, { action, result });
  }

  programStarted(): void {
    this.programStarts++;
  }

  programExited(code: number): void {
    this.programExits.set(code, (this.programExits.get(code) ?? 0) + 1);
  }

  configReload(ok: boolean): void {
    this.configReloads[ok ? 'ok' : 'failed']++;
  }

  keepOutputs(outputs: readonly OutputName[]): void {
    for (const output of this.expiries.keys()) if (!outputs.includes(output)) this.expiries.delete(output);
  }
}

function bump<T extends { count: number }>(map: Map<string, T>, key: string, fresh: Omit<T, 'count'>): void {
  const entry = map.get(key);
  if (entry === undefined) map.set(key, { ...fresh, count: 1 } as T);
  else entry.count++;
}
