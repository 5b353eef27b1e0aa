// The Workload API's protobuf descriptor, prepared once at build time: src/spiffe/workload/workload.proto
// (and google/protobuf/struct.proto, which it imports) as protobufjs JSON, which
// src/spiffe/workload/proto.ts hands to @grpc/proto-loader's fromJSON. No .proto text is parsed when the
// helper or the library starts.
//
//   node scripts/proto-descriptor.ts           writes src/spiffe/workload/workload-descriptor.json
//   node scripts/proto-descriptor.ts --check   exits 1 when that file does not match the .proto
import { readFile, writeFile } from 'node:fs/promises';
import protobuf from 'protobufjs';

const PROTO = new URL('../src/spiffe/workload/workload.proto', import.meta.url).pathname;
const DESCRIPTOR = new URL('../src/spiffe/workload/workload-descriptor.json', import.meta.url).pathname;

/** The descriptor as written: field names as in the .proto (keepCase), as proto.ts reads them. */
export function workloadDescriptorJson(): string {
  const root = new protobuf.Root().loadSync(PROTO, { keepCase: true });
  root.resolveAll();
  return `${JSON.stringify(root.toJSON(), null, 1)}\n`;
}

if (import.meta.main) {
  const expected = workloadDescriptorJson();
  if (process.argv.includes('--check')) {
    const actual = await readFile(DESCRIPTOR, 'utf8').catch(() => '');
    if (actual !== expected) {
      process.stderr.write(`${DESCRIPTOR} does not match ${PROTO}: run node scripts/proto-descriptor.ts\n`);
      process.exit(1);
    }
  } else {
    await writeFile(DESCRIPTOR, expected);
  }
}
