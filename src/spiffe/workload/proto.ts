import { makeGenericClientConstructor, type Client, type ServiceDefinition } from '@grpc/grpc-js';
// Made at build time from workload.proto by scripts/proto-codec.ts: no protobuf library, reflection or
// code generation at run time.
import { methods } from './codec.ts';

/** The Workload API service for grpc-js: each method's path and its messages' codec, both ways. */
export const workloadApiService: ServiceDefinition = Object.fromEntries(
  Object.entries(methods).map(([name, method]) => [
    name,
    {
      path: method.path,
      requestStream: false,
      responseStream: method.responseStream,
      requestSerialize: method.request.encode,
      requestDeserialize: method.request.decode,
      responseSerialize: method.response.encode,
      responseDeserialize: method.response.decode,
      originalName: name,
    },
  ]),
);

export const SpiffeWorkloadApi = makeGenericClientConstructor(workloadApiService, 'SpiffeWorkloadAPI');

/** Wire shapes of the messages this client reads, generated with the codec: snake_case as in the
 * proto, except google.protobuf.Struct, whose bundled definition (protobufjs) names its fields in camelCase. */
export type {
  X509SVID as X509SvidMessage,
  X509SVIDResponse as X509SvidResponse,
  X509BundlesResponse,
  JWTBundlesResponse as JwtBundlesResponse,
  JWTSVIDResponse as JwtSvidResponse,
  Value as StructValue,
  ValidateJWTSVIDResponse as ValidateJwtSvidResponse,
} from './codec.ts';

export type WorkloadApiStub = Client & Record<string, (...args: unknown[]) => unknown>;
