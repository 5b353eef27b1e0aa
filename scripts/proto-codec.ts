// The Workload API's codec, generated at build time from its protobuf definition
// (src/spiffe/workload/workload-descriptor.json, itself made from workload.proto): a decoder and an encoder
// per message, straight-line code on src/spiffe/workload/wire.ts. It replaces @grpc/proto-loader and
// protobufjs at run time, which build reflection types and compile their coders with `new Function`
// at every start (code that V8's code cache cannot keep). Decoders return what proto-loader's
// deserializer returns with the options the client used (keepCase, defaults, arrays, objects, oneofs,
// enums as names, bytes as Buffers); test/workload/codec.test.ts proves it message by message.
//
//   node scripts/proto-codec.ts           writes src/spiffe/workload/codec.ts
//   node scripts/proto-codec.ts --check   exits 1 when that file does not match the descriptor
import { readFile, writeFile } from 'node:fs/promises';
import protobuf from 'protobufjs';

const DESCRIPTOR = new URL('../src/spiffe/workload/workload-descriptor.json', import.meta.url).pathname;
const CODEC = new URL('../src/spiffe/workload/codec.ts', import.meta.url).pathname;

/** How a scalar is read and written, its TypeScript type, proto-loader's default and its wire type. */
const SCALARS: Record<string, { ts: string; empty: string; wire: number }> = {
  string: { ts: 'string', empty: "''", wire: 2 },
  bytes: { ts: 'Buffer', empty: 'Buffer.alloc(0)', wire: 2 },
  double: { ts: 'number', empty: '0', wire: 1 },
  bool: { ts: 'boolean', empty: 'false', wire: 0 },
};

const nameOf = (type: protobuf.Type | protobuf.Enum): string => type.name;

function tsType(field: protobuf.Field): string {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return 'string | number';
  return resolved === null ? SCALARS[field.type]!.ts : nameOf(resolved);
}

function check(field: protobuf.Field): void {
  const resolved = field.resolvedType;
  if (resolved === null && SCALARS[field.type] === undefined) throw new Error(`${field.fullName}: type ${field.type} is not supported by the generator`);
  if (field instanceof protobuf.MapField && field.keyType !== 'string') throw new Error(`${field.fullName}: only string map keys are supported`);
}

/** How one value of the field's type is read from `r`, in a message at `depth`. */
function readValue(field: protobuf.Field): string {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return `decode${nameOf(resolved)}(r, r.uint32(), depth + 1)`;
  if (resolved instanceof protobuf.Enum) return `enumName(${nameOf(resolved)}, r.int32())`;
  return `r.${field.type}()`;
}

/** How one value `v` of the field's type is written to `w` after its tag. */
function writeValue(field: protobuf.Field, v: string): string {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return `sub(encode${nameOf(resolved)}(${v}))`;
  if (field.type === 'double') return `double(Number(${v}))`;
  if (field.type === 'bool') return `bool(Boolean(${v}))`;
  return `${field.type}(${v})`;
}

const tag = (field: protobuf.Field, wire: number): number => ((field.id << 3) | wire) >>> 0;
const wireOf = (field: protobuf.Field): number => (field.resolvedType instanceof protobuf.Type ? 2 : field.resolvedType instanceof protobuf.Enum ? 0 : SCALARS[field.type]!.wire);

function messageCode(type: protobuf.Type): string {
  const name = nameOf(type);
  const fields = type.fieldsArray.slice().sort((a, b) => a.id - b.id);
  fields.forEach(check);
  const members = new Set(type.oneofsArray.flatMap((oneof) => oneof.fieldsArray));
  const shape: string[] = [];
  const defaults: string[] = [];
  const cases: string[] = [];
  const encode: string[] = [];
  const after: string[] = [];
  for (const field of fields) {
    const key = field.name;
    const type = tsType(field);
    if (field instanceof protobuf.MapField) {
      const message = field.resolvedType instanceof protobuf.Type;
      shape.push(`${key}: Record<string, ${type}>;`);
      defaults.push(`${key}: {}`);
      // proto-loader: an entry without a value is [] for bytes; a message entry without one is refused.
      cases.push(`case ${field.id}: r.entry(m.${key}, (r) => ${readValue(field)}, ${message ? 'null' : '[] as unknown as Buffer'}, depth); break;`);
      if (message) after.push(`noneAbsent(m.${key}, '${field.fullName.slice(1)}');`);
      encode.push(`if (m.${key}) for (const [k, v] of Object.entries(m.${key})) w.uint32(${tag(field, 2)}).sub(new Writer().uint32(10).string(k).uint32(${(2 << 3) | wireOf(field)}).${writeValue(field, 'v')});`);
    } else if (field.repeated) {
      shape.push(`${key}: ${type}[];`);
      defaults.push(`${key}: []`);
      cases.push(`case ${field.id}: m.${key}.push(${readValue(field)}); break;`);
      encode.push(`if (m.${key}) for (const v of m.${key}) w.uint32(${tag(field, wireOf(field))}).${writeValue(field, 'v')};`);
    } else {
      const member = members.has(field);
      const resolved = field.resolvedType;
      shape.push(member ? `${key}?: ${type};` : `${key}: ${resolved instanceof protobuf.Type ? `${type} | null` : type};`);
      if (!member) defaults.push(`${key}: ${resolved instanceof protobuf.Type ? 'null' : resolved instanceof protobuf.Enum ? `enumName(${nameOf(resolved)}, 0)` : SCALARS[field.type]!.empty}`);
      cases.push(`case ${field.id}: m.${key} = ${readValue(field)}; break;`);
      const value = resolved instanceof protobuf.Enum ? `enumValue(${nameOf(resolved)}, m.${key})` : `m.${key}`;
      encode.push(
        resolved instanceof protobuf.Enum
          ? `if (m.${key} != null && ${value} !== undefined) w.uint32(${tag(field, 0)}).int32(${value}!);`
          : `if (m.${key} != null) w.uint32(${tag(field, wireOf(field))}).${writeValue(field, `m.${key}`)};`,
      );
    }
  }
  for (const oneof of type.oneofsArray) {
    shape.push(`${oneof.name}?: string;`);
    // proto-loader names the last member present, in declaration order.
    for (const member of oneof.fieldsArray) after.push(`if (m.${member.name} !== undefined) m.${oneof.name} = '${member.name}';`);
  }
  return [
    `export interface ${name} {${shape.map((line) => ` ${line}`).join('')} }`,
    `function decode${name}(r: Reader, length: number | undefined, depth: number): ${name} {`,
    `  const outer = r.open(length, depth);`,
    `  const m: ${name} = {${defaults.length === 0 ? '' : ` ${defaults.join(', ')} `}};`,
    `  for (let tag = 0; r.pos < r.len; ) switch ((tag = r.uint32()) >>> 3) {`,
    ...cases.map((line) => `    ${line}`),
    `    default: r.skipType(tag & 7, depth);`,
    `  }`,
    `  r.close(outer);`,
    ...after.map((line) => `  ${line}`),
    `  return m;`,
    `}`,
    encode.length === 0
      ? `const encode${name} = (_m: Partial<${name}>, w = new Writer()): Writer => w;`
      : [`function encode${name}(m: Partial<${name}>, w = new Writer()): Writer {`, ...encode.map((line) => `  ${line}`), `  return w;`, `}`].join('\n'),
  ].join('\n');
}

export function workloadCodecSource(descriptor: protobuf.INamespace): string {
  const root = protobuf.Root.fromJSON(descriptor);
  root.resolveAll();
  const types: protobuf.Type[] = [];
  const enums: protobuf.Enum[] = [];
  const walk = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) types.push(nested);
      else if (nested instanceof protobuf.Enum) enums.push(nested);
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
    }
  };
  walk(root);
  const services = root.nestedArray.filter((nested): nested is protobuf.Service => nested instanceof protobuf.Service);
  if (services.length !== 1) throw new Error(`expected one service, found ${services.length}`);
  const service = services[0]!;
  const methods = service.methodsArray.map(
    (method) => `  ${method.name}: { path: '/${service.fullName.slice(1)}/${method.name}', request: messages.${nameOf(method.resolvedRequestType!)}, response: messages.${nameOf(method.resolvedResponseType!)}, responseStream: ${method.responseStream === true} },`,
  );
  return [
    `// Generated by scripts/proto-codec.ts from workload-descriptor.json (workload.proto): do not edit.`,
    `import { Reader, Writer, enumName, enumValue, noneAbsent } from './wire.ts';`,
    '',
    ...enums.map((e) => `const ${nameOf(e)} = new Map<number, string>([${Object.entries(e.values).map(([k, v]) => `[${v}, '${k}']`).join(', ')}]);`),
    '',
    ...types.map(messageCode),
    '',
    `/** Each message's codec: decode() returns what proto-loader's deserializer returns. */`,
    `export const messages = {`,
    ...types.map((t) => `  ${nameOf(t)}: { decode: (buf: Buffer): ${nameOf(t)} => decode${nameOf(t)}(new Reader(buf), undefined, 0), encode: (m: Partial<${nameOf(t)}>): Buffer => encode${nameOf(t)}(m).finish() },`),
    `};`,
    '',
    `/** The service's methods, as its path on the wire. */`,
    `export const methods = {`,
    ...methods,
    `};`,
    '',
  ].join('\n');
}

if (import.meta.main) {
  const expected = workloadCodecSource(JSON.parse(await readFile(DESCRIPTOR, 'utf8')) as protobuf.INamespace);
  if (process.argv.includes('--check')) {
    const actual = await readFile(CODEC, 'utf8').catch(() => '');
    if (actual !== expected) {
      process.stderr.write(`${CODEC} does not match ${DESCRIPTOR}: run node scripts/proto-codec.ts\n`);
      process.exit(1);
    }
  } else {
    await writeFile(CODEC, expected);
  }
}
