// The reference the generated codec is held to: @grpc/proto-loader's serializers and deserializers
// for the Workload API, made from the same descriptor with the options the client used before the
// codec existed (fields as in the .proto, every default present, enums by name, oneofs named).
import { fromJSON } from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';
import descriptor from '../../src/spiffe/workload/workload-descriptor.json' with { type: 'json' };
import { messages, methods } from '../../src/spiffe/workload/codec.ts';

const OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true };

type Descriptor = Parameters<typeof fromJSON>[0];
const service = fromJSON(descriptor as Descriptor, OPTIONS).SpiffeWorkloadAPI as ServiceDefinition;

export interface Codec {
  encode(message: object): Buffer;
  decode(bytes: Buffer): unknown;
}

export type MessageName = keyof typeof messages;

/** Every request and response message of the service: proto-loader's codec and ours. */
export const codecs: { name: MessageName; reference: Codec; ours: Codec }[] = Object.entries(methods).flatMap(([method, { request, response }]) => {
  const definition = service[method]!;
  const name = (codec: unknown) => Object.entries(messages).find(([, candidate]) => candidate === codec)![0] as MessageName;
  return [
    { name: name(request), reference: { encode: definition.requestSerialize, decode: definition.requestDeserialize }, ours: request as Codec },
    { name: name(response), reference: { encode: definition.responseSerialize, decode: definition.responseDeserialize }, ours: response as Codec },
  ];
});

/** What decoding `bytes` gives: the value, or that it was refused (and the message of a RangeError, which the codec copies). */
export function outcome(codec: Codec, bytes: Buffer): { value: unknown } | { refused: string } {
  try {
    return { value: codec.decode(bytes) };
  } catch (error) {
    return { refused: error instanceof RangeError ? error.message : 'refused' };
  }
}
