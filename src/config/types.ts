/** The helper's configuration: parsed, validated and fully defaulted, so no caller re-checks it. */
export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
}

export interface JwtSvidOutput {
  readonly audience: string;
  readonly extraAudiences: readonly string[];
  /** A plain file name inside cert_dir. */
  readonly fileName: string;
  readonly spiffeId: string | undefined;
}

export type RenewAction = 'signal' | 'restart' | 'command' | 'none';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface HealthChecks {
  readonly listenerEnabled: boolean;
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly livenessPath: string;
  readonly readinessPath: string;
  readonly readyExpiryMarginMs: number;
  readonly agentLostThresholdMs: number;
}

export interface HelperConfig {
  /** The config file, as given. */
  readonly file: string;
  /** As written; undefined: the client falls back to SPIFFE_ENDPOINT_SOCKET. */
  readonly agentAddress: string | undefined;
  readonly cmd: CommandSpec | undefined;
  /** Absolute. */
  readonly certDir: string;
  readonly x509: { readonly svidFileName: string; readonly keyFileName: string; readonly bundleFileName: string } | undefined;
  /** Contains "{trust_domain}". */
  readonly federatedBundleFileName: string | undefined;
  readonly certFileMode: number;
  readonly keyFileMode: number;
  readonly jwtBundleFileMode: number;
  readonly jwtSvidFileMode: number;
  readonly hint: string;
  readonly addIntermediatesToBundle: boolean;
  readonly includeFederatedDomains: boolean;
  readonly omitExpired: boolean;
  readonly jwtSvids: readonly JwtSvidOutput[];
  readonly jwtBundle: { readonly fileName: string } | undefined;
  readonly daemonMode: boolean;
  readonly renewAction: RenewAction;
  readonly renewSignal: NodeJS.Signals | undefined;
  /** Absolute. */
  readonly pidFileName: string | undefined;
  readonly renewCommand: CommandSpec | undefined;
  readonly renewCommandTimeoutMs: number;
  readonly renewDebounceMs: number;
  readonly stopSignal: NodeJS.Signals;
  readonly killTimeoutMs: number;
  readonly cmdExit: 'exit' | 'restart';
  readonly cmdRestartBackoffMaxMs: number;
  readonly oneshotTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'text';
  readonly healthChecks: HealthChecks;
}
