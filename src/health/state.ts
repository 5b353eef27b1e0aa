export type AgentStatus = 'connecting' | 'connected' | 'retrying' | 'failed' | 'closed';

export interface HealthOptions {
  /** Not ready when the X.509-SVID expires within this margin. */
  readonly expiryMarginMs: number;
  /** Not ready when the agent connection has been down longer than this. */
  readonly agentLostThresholdMs: number;
  /** Not live when the daemon's loop has not beaten for this long. */
  readonly heartbeatTimeoutMs?: number;
  readonly now?: () => number;
}

interface OutputStatus {
  writtenAt: number | undefined;
  error: string | undefined;
}

/** The JSON both endpoints answer with; times are ISO 8601, null when not known yet. */
export interface HealthBody {
  readonly status: 'ok' | 'unavailable';
  /** Why the check fails; empty when ok. */
  readonly reasons: readonly string[];
  readonly spiffe_id: string | null;
  readonly x509_expires_at: string | null;
  /** Negative once expired. */
  readonly x509_seconds_left: number | null;
  /** When an output was last written. */
  readonly last_update: string | null;
  readonly agent: { readonly state: AgentStatus; readonly since: string; readonly detail: string | null };
  readonly outputs: Readonly<Record<string, { readonly written_at: string | null; readonly error: string | null }>>;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  readonly body: HealthBody;
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
  readonly #outputs = new Map<string, OutputStatus>();
  #x509: { spiffeId: string; notAfter: number } | undefined;
  #agent: { status: AgentStatus; since: number; detail: string | undefined; lostSince: number | undefined };
  #lastUpdate: number | undefined;
  #heartbeat: number;
  #fatal: string | undefined;

  constructor(outputs: readonly string[], options: HealthOptions) {
    this.#options = { heartbeatTimeoutMs: 10_000, now: Date.now, ...options };
    for (const output of outputs) this.#outputs.set(output, { writtenAt: undefined, error: undefined });
    const now = this.#now();
    this.#agent = { status: 'connecting', since: now, detail: undefined, lostSince: now };
    this.#heartbeat = now;
  }

  #now(): number {
    return this.#options.now();
  }

  #output(name: string): OutputStatus {
    let status = this.#outputs.get(name);
    if (status === undefined) {
      status = { writtenAt: undefined, error: undefined };
      this.#outputs.set(name, status);
    }
    return status;
  }

  recordWrite(output: string): void {
    const status = this.#output(output);
    status.writtenAt = this.#now();
    status.error = undefined;
    this.#lastUpdate = status.writtenAt;
  }

  recordWriteFailure(output: string, error: string): void {
    this.#output(output).error = error;
  }

  setX509(info: { spiffeId: string; notAfter: Date } | undefined): void {
    this.#x509 = info === undefined ? undefined : { spiffeId: info.spiffeId, notAfter: info.notAfter.getTime() };
  }

  setAgentState(status: AgentStatus, detail?: string): void {
    const now = this.#now();
    const lostSince = status === 'connected' ? undefined : (this.#agent.lostSince ?? now);
    this.#agent = { status, since: this.#agent.status === status ? this.#agent.since : now, detail, lostSince };
  }

  beat(): void {
    this.#heartbeat = this.#now();
  }

  recordFatal(error: string): void {
    this.#fatal = error;
  }

  readiness(): HealthReport {
    const now = this.#now();
    const reasons: string[] = [];
    for (const [name, status] of this.#outputs) {
      if (status.writtenAt === undefined) reasons.push(`${name} not written yet${status.error === undefined ? '' : `: ${status.error}`}`);
      else if (status.error !== undefined) reasons.push(`${name}: last update failed: ${status.error}`);
    }
    if (this.#x509 !== undefined) {
      const left = this.#x509.notAfter - now;
      if (left <= 0) reasons.push(`X.509-SVID expired at ${iso(this.#x509.notAfter)}`);
      else if (left <= this.#options.expiryMarginMs) reasons.push(`X.509-SVID expires in ${Math.round(left / 1000)} s, within the ${Math.round(this.#options.expiryMarginMs / 1000)} s margin`);
    }
    const lostFor = this.#agent.lostSince === undefined ? 0 : now - this.#agent.lostSince;
    if (this.#agent.lostSince !== undefined && lostFor > this.#options.agentLostThresholdMs) {
      reasons.push(`no agent connection for ${Math.round(lostFor / 1000)} s${this.#agent.detail === undefined ? '' : `: ${this.#agent.detail}`}`);
    }
    if (this.#fatal !== undefined) reasons.push(`stopped: ${this.#fatal}`);
    return this.#report(reasons, now);
  }

  liveness(): HealthReport {
    const now = this.#now();
    const reasons: string[] = [];
    const silence = now - this.#heartbeat;
    if (silence > this.#options.heartbeatTimeoutMs) reasons.push(`the helper's loop has not run for ${Math.round(silence / 1000)} s`);
    if (this.#fatal !== undefined) reasons.push(`stopped: ${this.#fatal}`);
    return this.#report(reasons, now);
  }

  #report(reasons: string[], now: number): HealthReport {
    return {
      ok: reasons.length === 0,
      reasons,
      body: {
        status: reasons.length === 0 ? 'ok' : 'unavailable',
        reasons,
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
