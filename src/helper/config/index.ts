export { describeChosen, type ChosenDefault } from './chosen.ts';
export { ConfigError } from './errors.ts';
export { describeConfig, formatDuration } from './describe.ts';
export type { HostChecks } from './host.ts';
export { DEFAULT_CONFIG_FILE, configFileToRead } from './config-file.ts';
export { loadConfig, readConfigText } from './load.ts';
export { parseConfig, type ConfigInputs } from './parse.ts';
export { x509FileNames } from './x509-outputs.ts';
export { JWT_BUNDLE_OUTPUT, X509_OUTPUT, configuredOutputs, jwtSvidOutput, type OutputName } from './output-names.ts';
export type {
  CmdExit, CommandSpec, FileLayout, HealthChecks, HelperConfig, JwtSvidOutput, Layout, LogLevel, PemFileNames, Pkcs12Password, RenewAction, SettingSources, X509FileNames, X509SvidOutput,
} from './types.ts';
