import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type Client, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** Beside this module, in `src/workload/` and in the compiled `dist/src/workload/` (the build copies it). */
export const PROTO_FILE = fileURLToPath(new URL('./workload.proto', import.meta.url));

/** Absent fields decode as empty values, as proto3 means them; bytes stay Buffers. */
const definition = loadSync(PROTO_FILE, { keepCase: true, longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true });

export const SpiffeWorkloadApi = loadPackageDefinition(definition).SpiffeWorkloadAPI as ServiceClientConstructor;
export const workloadApiService = SpiffeWorkloadApi.service;

/** Wire shapes of the messages this client reads: snake_case as in the proto, except
 * google.protobuf.Struct, whose bundled definition (protobufjs) names its fields in camelCase. */
export interface X509SvidMessage {
  spiffe_id: string;
  x509_svid: Buffer;
  x509_svid_key: Buffer;
  bundle: Buffer;
  hint: string;
}
export interface X509SvidResponse {
  svids: X509SvidMessage[];
  crl: Buffer[];
  federated_bundles: Record<string, Buffer>;
}
export interface X509BundlesResponse {
  crl: Buffer[];
  bundles: Record<string, Buffer>;
}
export interface JwtBundlesResponse {
  bundles: Record<string, Buffer>;
}
export interface JwtSvidResponse {
  svids: { spiffe_id: string; svid: string; hint: string }[];
}
export interface StructValue {
  nullValue?: string;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: { fields: Record<string, StructValue> };
  listValue?: { values: StructValue[] };
  kind?: string;
}
export interface ValidateJwtSvidResponse {
  spiffe_id: string;
  claims: { fields: Record<string, StructValue> } | null;
}

export type WorkloadApiStub = Client & Record<string, (...args: unknown[]) => unknown>;
