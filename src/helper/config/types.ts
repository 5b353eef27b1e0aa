import type { SvidSelection } from '../../spiffe/sources/index.ts';
import type { ChosenDefault } from './chosen.ts';

/** The helper's configuration: parsed, validated and fully defaulted, so no caller re-checks it. */
export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
}

export interface JwtSvidOutput {
  readonly audience: string;
  readonly extraAudiences: readonly string[];
  /** A plain file name inside cert_dir; for a file outside the set, the name as written. */
  readonly fileName: string;
  /**
   * Absolute: a file written on its own (atomically, but not in the cert_dir set), for the Go
   * helper's `jwt_svid_file_name` paths with "/". Undefined for a file of the set.
   */
  readonly path: string | undefined;
  /** Ask for the JWT-SVID of this SPIFFE ID (when the workload has several). */
  readonly spiffeId: string | undefined;
}

export type CmdExit = 'exit' | 'restart' | 'rerun';
/** The PEM trio of the Go helper: certificates, key, bundle. */
export interface PemFileNames {
  readonly svidFileName: string;
  readonly keyFileName: string;
  readonly bundleFileName: string;
}

/** The files one X.509-SVID is written to (plain names inside certDir). */
export interface X509FileNames {
  readonly pem: PemFileNames | undefined;
  /** Key, leaf and intermediates in one PEM file (HAProxy, ghostunnel). */
  readonly combinedPemFileName: string | undefined;
  /** PKCS#12 with the key and chain, alias = the SPIFFE ID. */
  readonly pkcs12KeystoreFileName: string | undefined;
  /** PKCS#12 with the bundle as trusted certificates. */
  readonly pkcs12TruststoreFileName: string | undefined;
}

/**
 * One SVID and the files it goes to: the top-level one (chosen by `hint`), or an `[[x509_svids]]`
 * entry of a multi-identity workload, chosen by hint or SPIFFE ID.
 */
export interface X509SvidOutput extends X509FileNames {
  readonly select: SvidSelection;
  /** Its index in [[x509_svids]]; undefined for the top-level SVID. */
  readonly entry: number | undefined;
}

/** Read at load from a file or an environment variable, never from the config text. */
export interface Pkcs12Password {
  readonly value: string;
  /** Where it came from, for messages: `file /run/secrets/p12` or `environment variable P12_PASSWORD`. */
  readonly source: string;
}

/** `helper`: the names the config gives; `filesystem_delivery`: the SPIFFE Filesystem Delivery folder. */
export type Layout = 'helper' | 'filesystem_delivery';

/** How the files lie in cert_dir: symlinks through `..data` swapped at once, or plain files replaced one by one. */
export type FileLayout = 'generations' | 'files';

export type RenewAction = 'signal' | 'restart' | 'command' | 'none';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface HealthChecks {
  readonly listenerEnabled: boolean;
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly livenessPath: string;
  readonly readinessPath: string;
  /** Not ready when the X.509-SVID expires within this. */
  readonly readyExpiryMarginMs: number;
  /** Not ready when the agent has been unreachable for longer than this. */
  readonly agentLostThresholdMs: number;
}

/** Where a setting came from, for `-check`: `helper.conf:4`, `SPIFFE_HELPER_CERT_DIR`, `-daemon-mode`. */
export type SettingSources = ReadonlyMap<string, string>;

export interface HelperConfig {
  /** The config file, as given; undefined when the configuration comes from the environment only. */
  readonly file: string | undefined;
  /** The file's language, told from its content; undefined without a file. */
  readonly format: 'toml' | 'hcl' | undefined;
  /** The file's text as read for this config (once per load), so a reload can tell an edit from a touch. */
  readonly text: string | undefined;
  /** Each top-level key that is set, and where; keys not listed have their default. */
  readonly sources: SettingSources;
  /** Accepted, but worth a look (decimal modes, repeated keys, Go path joins): one line each, with file and line. */
  readonly warnings: readonly string[];
  /** As written, in a form the client accepts; undefined: the client falls back to SPIFFE_ENDPOINT_SOCKET. */
  readonly agentAddress: string | undefined;
  readonly cmd: CommandSpec | undefined;
  /** Absolute. */
  readonly certDir: string;
  /**
   * Every X.509-SVID written, the one list: the top-level SVID first (when it has files, or with the
   * Filesystem Delivery layout, which has no file names of its own), then each [[x509_svids]] entry.
   * Empty: no X.509 file is written.
   */
  readonly x509Outputs: readonly X509SvidOutput[];
  /** Set exactly when some PKCS#12 file is configured. */
  readonly pkcs12Password: Pkcs12Password | undefined;
  readonly layout: Layout;
  readonly fileLayout: FileLayout;
  /** Contains "{trust_domain}". */
  readonly federatedBundleFileName: string | undefined;
  /** Permission bits (0o000-0o777), for the svid, bundle and federated bundle files. */
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
  /** How the program learns of a rotation: renewSignal, a restart, renewCommand, or not at all. */
  readonly renewAction: RenewAction;
  readonly renewSignal: NodeJS.Signals | undefined;
  /** Absolute. */
  readonly pidFileName: string | undefined;
  readonly renewCommand: CommandSpec | undefined;
  /** Durations are in milliseconds. */
  readonly renewCommandTimeoutMs: number;
  readonly renewDebounceMs: number;
  /** A random wait in [0, renewSplayMs] between a burst's end and telling the program. */
  readonly renewSplayMs: number;
  readonly stopSignal: NodeJS.Signals;
  readonly killTimeoutMs: number;
  /**
   * When the program exits by itself: exit with its code; restart it with backoff; or start it again
   * at the next update (the Go helper's behaviour: its reload-command pattern).
   */
  readonly cmdExit: CmdExit;
  readonly cmdRestartBackoffMaxMs: number;
  readonly oneshotTimeoutMs: number;
  /** At start-up, how long after the first output arrives the first write waits for the others; 0: no wait. */
  readonly firstWriteWaitMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'text';
  readonly healthChecks: HealthChecks;
  /** The defaults picked from other keys of this config, each said at start and by `-check`. */
  readonly defaultsChosen: readonly ChosenDefault[];
}
