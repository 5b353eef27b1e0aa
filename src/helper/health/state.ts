import type { ConnectionStatus } from '../../spiffe/workload/index.ts';
import { X509_OUTPUT, type OutputName } from '../config/index.ts';

export interface HealthOptions {
  /** Not ready when the X.509-SVID expires within this margin. */
  readonly expiryMarginMs: number;
  /** Not ready when the agent connection has been down longer than this. */
  readonly agentLostThresholdMs: number;
  readonly now?: () => number;
}

interface OutputStatus {
  writtenAt: number | undefined;
  /** Why the newest material for this output was refused or could not be had. */
  error: string | undefined;
  /** When the credential on disk expires, for the outputs that hold one (JWT-SVIDs). */
  credential: Credential | undefined;
}

interface Credential {
  readonly what: string;
  readonly notAfter: number;
  readonly lifetimeMs: number | undefined;
}

/** The JSON both endpoints answer with; times are ISO 8601, null when not known yet. */
export interface HealthBody {
  /** degraded: ready, but something needs attention (see warnings). */
  readonly status: 'ok' | 'degraded' | 'unavailable';
  /** Why the check fails; empty when ok. */
  readonly reasons: readonly string[];
  /** What is wrong without making the helper not ready yet, e.g. updates refused while the last good files are still valid. */
  readonly warnings: readonly string[];
  readonly spiffe_id: string | null;
  readonly x509_expires_at: string | null;
  /** Negative once expired. */
  readonly x509_seconds_left: number | null;
  /** When an output was last written. */
  readonly last_update: string | null;
  readonly agent: { readonly state: ConnectionStatus; readonly since: string; readonly detail: string | null };
  readonly outputs: Readonly<Record<string, { readonly written_at: string | null; readonly error: string | null }>>;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  readonly body: HealthBody;
}

function credential(what: string, notAfter: Date, issuedAt: Date | undefined): Credential {
  return { what, notAfter: notAfter.getTime(), lifetimeMs: issuedAt === undefined ? undefined : notAfter.getTime() - issuedAt.getTime() };
}

function iso(ms: number): string;
function iso(ms: number | undefined): string | null;
function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * What the helper knows about its own health, in plain values: readiness says every configured
 * output is on disk and current, the SVID is not about to expire and the agent is reachable;
 * liveness says the helper's own loop runs.
 */
export class HealthState {
  readonly #options: Required<HealthOptions>;
  readonly #outputs = new Map<OutputName, OutputStatus>();
  #x509: ({ spiffeId: string } & Credential) | undefined;
  /** Not ready while any is set, e.g. the files on disk are missing. */
  readonly #problems = new Map<string, string>();
  readonly #warnings = new Map<string, string>();
  #agent: { status: ConnectionStatus; since: number; detail: string | undefined; lostSince: number | undefined };
  #lastUpdate: number | undefined;
  #fatal: string | undefined;

  constructor(outputs: readonly OutputName[], options: HealthOptions) {
    this.#options = { now: Date.now, ...options };
    for (const output of outputs) this.#output(output);
    const now = this.#now();
    this.#agent = { status: 'connecting', since: now, detail: undefined, lostSince: now };
  }

  #now(): number {
    return this.#options.now();
  }

  #output(name: OutputName): OutputStatus {
    let status = this.#outputs.get(name);
    if (status === undefined) {
      status = { writtenAt: undefined, error: undefined, credential: undefined };
      this.#outputs.set(name, status);
    }
    return status;
  }

  /** The output's material is on disk, written (or found unchanged) now. */
  recordWrite(output: OutputName): void {
    const status = this.#output(output);
    status.writtenAt = this.#now();
    this.#lastUpdate = status.writtenAt;
  }

  /**
   * The newest material for the output was refused or could not be had. Before its first write this
   * keeps it not ready; after, the last good files stay, so it is a warning until they near expiry.
   */
  recordRejected(output: OutputName, error: string): void {
    this.#output(output).error = error;
  }

  /** New material for the output was accepted: earlier refusals no longer matter. */
  recordAccepted(output: OutputName): void {
    this.#output(output).error = undefined;
  }

  setX509(info: { spiffeId: string; notAfter: Date; notBefore?: Date } | undefined): void {
    this.#x509 = info === undefined ? undefined : { spiffeId: info.spiffeId, ...credential('X.509-SVID', info.notAfter, info.notBefore) };
  }

  /** The expiry of the credential an output holds (a JWT-SVID), checked against the margin like the X.509-SVID's. */
  setCredential(output: OutputName, info: { what: string; notAfter: Date; issuedAt?: Date | undefined }): void {
    this.#output(output).credential = credential(info.what, info.notAfter, info.issuedAt);
  }

  /** A reason to be not ready (undefined clears it), kept under `key` until cleared. */
  setProblem(key: string, reason: string | undefined): void {
    if (reason === undefined) this.#problems.delete(key);
    else this.#problems.set(key, reason);
  }

  /** A reason to report degraded while staying ready (undefined clears it). */
  setWarning(key: string, reason: string | undefined): void {
    if (reason === undefined) this.#warnings.delete(key);
    else this.#warnings.set(key, reason);
  }

  setAgentState(status: ConnectionStatus, detail?: string): void {
    const now = this.#now();
    const lostSince = status === 'connected' ? undefined : (this.#agent.lostSince ?? now);
    this.#agent = { status, since: this.#agent.status === status ? this.#agent.since : now, detail, lostSince };
  }

  recordFatal(error: string): void {
    this.#fatal = error;
  }

  readiness(): HealthReport {
    const now = this.#now();
    const reasons: string[] = [];
    const warnings: string[] = [];
    const expiring = (credential: Credential, error: string | undefined): void => {
      const reason = this.#expiryReason(credential, now);
      if (reason !== undefined) reasons.push(error === undefined ? reason : `${reason}; the last update failed: ${error}`);
    };
    if (this.#x509 !== undefined) expiring(this.#x509, this.#outputs.get(X509_OUTPUT)?.error);
    for (const [name, status] of this.#outputs) {
      if (status.writtenAt === undefined) reasons.push(`${name} not written yet${status.error === undefined ? '' : `: ${status.error}`}`);
      else if (status.error !== undefined) warnings.push(`${name}: last update failed; the last good file stays: ${status.error}`);
      if (status.credential !== undefined && status.writtenAt !== undefined) expiring(status.credential, status.error);
    }
    reasons.push(...this.#problems.values());
    warnings.push(...this.#warnings.values());
    const lostFor = this.#agent.lostSince === undefined ? 0 : now - this.#agent.lostSince;
    if (this.#agent.lostSince !== undefined && lostFor > this.#options.agentLostThresholdMs) {
      reasons.push(`no agent connection for ${Math.round(lostFor / 1000)} s${this.#agent.detail === undefined ? '' : `: ${this.#agent.detail}`}`);
    }
    if (this.#fatal !== undefined) reasons.push(`stopped: ${this.#fatal}`);
    return this.#report(reasons, warnings, now);
  }

  /**
   * Why a credential makes the helper not ready: expired, or within the margin. The margin is capped
   * at 40 % of the credential's lifetime: renewal happens around half of it, so a short-lived
   * credential with a margin longer than its lifetime is not reported as expiring from birth.
   */
  #expiryReason(credential: Credential, now: number): string | undefined {
    const left = credential.notAfter - now;
    if (left <= 0) return `${credential.what} expired at ${iso(credential.notAfter)}`;
    const margin = Math.min(this.#options.expiryMarginMs, (credential.lifetimeMs ?? Infinity) * 0.4);
    if (left > margin) return undefined;
    return `${credential.what} expires in ${Math.round(left / 1000)} s, within the ${Math.round(margin / 1000)} s margin`;
  }

  /**
   * Live unless a watch stopped for good. Answering at all proves the helper's loop runs: one that is
   * stuck does not answer, and the probe's timeout says so. (A timer beating to prove it would wake
   * an idle helper for nothing.)
   */
  liveness(): HealthReport {
    const now = this.#now();
    const reasons: string[] = [];
    if (this.#fatal !== undefined) reasons.push(`stopped: ${this.#fatal}`);
    return this.#report(reasons, [], now);
  }

  #report(reasons: string[], warnings: string[], now: number): HealthReport {
    return {
      ok: reasons.length === 0,
      reasons,
      body: {
        status: reasons.length > 0 ? 'unavailable' : warnings.length > 0 ? 'degraded' : 'ok',
        reasons,
        warnings,
        spiffe_id: this.#x509?.spiffeId ?? null,
        x509_expires_at: iso(this.#x509?.notAfter),
        x509_seconds_left: this.#x509 === undefined ? null : Math.round((this.#x509.notAfter - now) / 1000),
        last_update: iso(this.#lastUpdate),
        agent: { state: this.#agent.status, since: iso(this.#agent.since), detail: this.#agent.detail ?? null },
        outputs: Object.fromEntries([...this.#outputs].map(([name, s]) => [name, { written_at: iso(s.writtenAt), error: s.error ?? null }])),
      },
    };
  }
}
