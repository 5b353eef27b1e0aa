/**
 * Every config key, in one table: where it may be written, and how its value is read from the
 * environment (SPIFFE_HELPER_<KEY>). A new key is one row here and one read in the section that
 * uses it; the unknown-key checks, the environment and `-check`'s sources follow from this table.
 */

/**
 * How an environment variable's text becomes the value a config file would hold:
 * `string` as it is; `boolean` as Go's strconv.ParseBool reads it; `duration` a whole number of
 * seconds, or a string such as "30s"; `json` a JSON value (tables and arrays of tables).
 */
export type EnvForm = 'string' | 'boolean' | 'duration' | 'json';

export const TOP_LEVEL_KEYS = {
  agent_address: 'string',
  cmd: 'string',
  cmd_args: 'string',
  cert_dir: 'string',
  svid_file_name: 'string',
  svid_key_file_name: 'string',
  svid_bundle_file_name: 'string',
  combined_pem_file_name: 'string',
  pkcs12_keystore_file_name: 'string',
  pkcs12_truststore_file_name: 'string',
  pkcs12_password_file: 'string',
  pkcs12_password_env: 'string',
  x509_svids: 'json',
  layout: 'string',
  file_layout: 'string',
  renew_signal: 'string',
  pid_file_name: 'string',
  daemon_mode: 'boolean',
  add_intermediates_to_bundle: 'boolean',
  include_federated_domains: 'boolean',
  omit_expired: 'boolean',
  hint: 'string',
  cert_file_mode: 'string',
  key_file_mode: 'string',
  jwt_bundle_file_mode: 'string',
  jwt_svid_file_mode: 'string',
  jwt_svids: 'json',
  jwt_bundle_file_name: 'string',
  health_checks: 'json',
  renew_action: 'string',
  renew_command: 'string',
  renew_command_timeout: 'duration',
  renew_debounce: 'duration',
  renew_splay: 'duration',
  stop_signal: 'string',
  kill_timeout: 'duration',
  cmd_exit: 'string',
  cmd_restart_backoff_max: 'duration',
  oneshot_timeout: 'duration',
  first_write_wait: 'duration',
  log_level: 'string',
  log_format: 'string',
  federated_bundle_file_name: 'string',
} as const satisfies Record<string, EnvForm>;

export type TopLevelKey = keyof typeof TOP_LEVEL_KEYS;

export const TOP_LEVEL_NAMES = Object.keys(TOP_LEVEL_KEYS) as readonly TopLevelKey[];
export const HEALTH_KEYS = ['listener_enabled', 'bind_port', 'liveness_path', 'readiness_path', 'bind_address', 'ready_expiry_margin', 'agent_lost_threshold'] as const;
export const JWT_SVID_KEYS = ['jwt_audience', 'jwt_extra_audiences', 'jwt_svid_file_name', 'jwt_svid_spiffe_id'] as const;

/** The environment variable of a top-level key. */
export const envName = (key: string): string => `SPIFFE_HELPER_${key.toUpperCase()}`;
