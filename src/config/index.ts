export { ConfigError } from './errors.ts';
export { describeConfig, formatDuration } from './describe.ts';
export { loadConfig, readConfigText } from './load.ts';
export { parseConfig } from './parse.ts';
export { hasX509Files } from './x509-outputs.ts';
export type { CommandSpec, HealthChecks, HelperConfig, JwtSvidOutput, Layout, LogLevel, PemFileNames, Pkcs12Password, RenewAction, X509FileNames, X509SvidOutput } from './types.ts';
