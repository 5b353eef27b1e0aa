import { loadPackageDefinition, type Client, type ServiceClientConstructor } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
// workload.proto as protobufjs JSON, prepared at build time by scripts/proto-descriptor.ts: starting
// the client parses no .proto text.
import descriptor from './workload-descriptor.json' with { type: 'json' };

/** protobufjs types a method's `comment` as required, though its own toJSON() leaves it out. */
type Descriptor = Parameters<typeof fromJSON>[0];

/** Absent fields decode as empty values, as proto3 means them; bytes stay Buffers. */
const definition = fromJSON(descriptor as Descriptor, { keepCase: true, longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true });

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
