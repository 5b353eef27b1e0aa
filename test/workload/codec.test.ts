// The generated codec (src/spiffe/workload/codec.ts) reads and writes exactly what @grpc/proto-loader's
// does, message by message: the same bytes out, the same values in, the same refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { workloadCodecSource } from '../../scripts/proto-codec.ts';
import { codecs, outcome, type MessageName } from './codec-reference.ts';

const der = (n: number): Buffer => randomBytes(n);

/** A claims Struct with every kind of value, nested both ways. */
const claims = {
  fields: {
    sub: { stringValue: 'spiffe://example.org/ünïcode' },
    exp: { numberValue: 1_700_000_000 },
    ratio: { numberValue: -0.5 },
    admin: { boolValue: true },
    nothing: { nullValue: 'NULL_VALUE' },
    aud: { listValue: { values: [{ stringValue: 'a' }, { numberValue: 0 }, { structValue: { fields: { deep: { boolValue: false } } } }] } },
    '': { stringValue: 'empty key' },
    ['__proto__']: { structValue: { fields: { ['__proto__']: { stringValue: 'x' } } } },
  },
};

/** Objects a writer may be given, for each message (with empty maps and lists, and keys that are no ordinary names). */
const samples: Partial<Record<MessageName, object[]>> = {
  X509SVIDRequest: [{}],
  X509SVIDResponse: [
    {},
    { svids: [], crl: [], federated_bundles: {} },
    {
      svids: [
        { spiffe_id: 'spiffe://example.org/a', x509_svid: der(700), x509_svid_key: der(138), bundle: der(500), hint: 'internal' },
        { spiffe_id: 'spiffe://example.org/b', x509_svid: der(3), x509_svid_key: Buffer.alloc(0), bundle: der(1), hint: '' },
      ],
      crl: [der(40), Buffer.alloc(0)],
      federated_bundles: { 'spiffe://other.org': der(300), '': der(2), ['__proto__']: der(4), '1': der(5) },
    },
  ],
  X509BundlesRequest: [{}],
  X509BundlesResponse: [{}, { crl: [der(10)], bundles: { 'spiffe://example.org': der(400), ['__proto__']: der(3), '': Buffer.alloc(0) } }],
  JWTSVIDRequest: [{}, { audience: ['a', 'b'], spiffe_id: '' }, { audience: [''], spiffe_id: 'spiffe://example.org/x' }],
  JWTSVIDResponse: [{}, { svids: [{ spiffe_id: 'spiffe://example.org/a', svid: 'eyJ.eyJ.sig', hint: 'h' }, { spiffe_id: '', svid: '', hint: '' }] }],
  JWTBundlesRequest: [{}],
  JWTBundlesResponse: [{}, { bundles: { 'spiffe://example.org': Buffer.from('{"keys":[]}'), ['__proto__']: Buffer.from('{}') } }],
  ValidateJWTSVIDRequest: [{}, { audience: 'aud', svid: 'eyJ.eyJ.sig' }, { audience: '', svid: '' }],
  ValidateJWTSVIDResponse: [{}, { spiffe_id: 'spiffe://example.org/a', claims }, { spiffe_id: '', claims: { fields: {} } }],
};

const varint = (value: bigint): number[] => {
  const bytes: number[] = [];
  for (; value > 127n; value >>= 7n) bytes.push(Number(value & 127n) | 128);
  return [...bytes, Number(value)];
};
const key = (field: number, wire: number): number[] => varint(BigInt(field * 8 + wire));

/** One unknown field of every wire type, a group with fields (and a group) inside, and the largest field number. */
const UNKNOWN = Buffer.from([
  ...key(15, 0), ...varint(300n),
  ...key(16, 0), ...varint(2n ** 64n - 1n),
  ...key(17, 1), 1, 2, 3, 4, 5, 6, 7, 8,
  ...key(18, 2), 3, 0x61, 0x62, 0x63,
  ...key(19, 3), ...key(1, 0), 5, ...key(2, 2), 1, 0x78, ...key(3, 3), ...key(3, 4), ...key(19, 4),
  ...key(20, 5), 1, 2, 3, 4,
  ...key(2 ** 29 - 1, 0), 1,
]);

const encodedSamples = codecs.flatMap(({ name, reference, ours }) => samples[name]!.map((sample) => ({ name, reference, ours, sample, bytes: reference.encode(sample) })));

test('every request and response message of the service has samples', () => {
  assert.equal(codecs.length, 10);
  for (const { name } of codecs) assert.ok((samples[name]?.length ?? 0) > 0, name);
});

test('the codec writes the bytes proto-loader writes, and reads back what proto-loader reads', () => {
  for (const { name, reference, ours, sample, bytes } of encodedSamples) {
    assert.deepEqual(ours.encode(sample), bytes, `${name} written`);
    assert.deepEqual(outcome(ours, bytes), outcome(reference, bytes), `${name} read`);
  }
});

test('map keys "" and __proto__ are entries of their own, and no prototype changes', () => {
  const response = codecs.find((codec) => codec.name === 'X509SVIDResponse')!;
  const bytes = response.reference.encode(samples.X509SVIDResponse![2]!);
  const decoded = response.ours.decode(bytes) as { federated_bundles: Record<string, Buffer> };
  assert.deepEqual(Object.keys(decoded.federated_bundles).sort(), ['', '1', '__proto__', 'spiffe://other.org']);
  assert.equal(Object.getPrototypeOf(decoded.federated_bundles), Object.prototype);
  assert.equal(({} as Record<string, unknown>).length, undefined);
  const validation = codecs.find((codec) => codec.name === 'ValidateJWTSVIDResponse')!;
  const read = validation.ours.decode(validation.reference.encode(samples.ValidateJWTSVIDResponse![1]!)) as { claims: { fields: Record<string, { structValue?: unknown }> } };
  assert.ok(Object.hasOwn(read.claims.fields, '__proto__'));
  assert.equal(Object.getPrototypeOf(read.claims.fields), Object.prototype);
});

test('unknown fields of every wire type are skipped alike, at the top and inside nested messages and map entries', () => {
  for (const { name, reference, ours, bytes } of encodedSamples) {
    for (const variant of [Buffer.concat([UNKNOWN, bytes]), Buffer.concat([bytes, UNKNOWN])]) {
      const expected = outcome(reference, variant);
      assert.ok('value' in expected, `${name}: proto-loader reads it`);
      assert.deepEqual(outcome(ours, variant), expected, name);
    }
  }
  // Inside an X509SVID, a map entry and a claims Value.
  const nested = [
    Buffer.from([...key(1, 2), UNKNOWN.length + 4, ...key(1, 2), 2, 0x69, 0x64, ...UNKNOWN]),
    Buffer.from([...key(3, 2), UNKNOWN.length + 6, ...UNKNOWN, ...key(1, 2), 1, 0x6b, ...key(2, 2), 1, 0x76]),
  ];
  const response = codecs.find((codec) => codec.name === 'X509SVIDResponse')!;
  for (const bytes of nested) assert.deepEqual(outcome(response.ours, bytes), outcome(response.reference, bytes));
  const value = Buffer.from([...key(2, 2), UNKNOWN.length + 7, ...key(1, 2), UNKNOWN.length + 5, ...key(1, 2), 1, 0x6b, ...key(2, 2), UNKNOWN.length, ...UNKNOWN]);
  const validation = codecs.find((codec) => codec.name === 'ValidateJWTSVIDResponse')!;
  assert.deepEqual(outcome(validation.ours, value), outcome(validation.reference, value));
});

test('wire types 6 and 7, a stray group end and an unclosed group are refused alike', () => {
  for (const bad of [key(21, 6), key(21, 7), key(21, 4), key(21, 3), [...key(21, 3), ...key(1, 0)]]) {
    for (const { name, reference, ours, bytes } of encodedSamples) {
      const variant = Buffer.concat([bytes, Buffer.from(bad)]);
      const expected = outcome(reference, variant);
      assert.ok('refused' in expected, `${name}: proto-loader refuses it`);
      assert.deepEqual(outcome(ours, variant), expected, name);
    }
  }
});

test('every truncation of every sample is read, or refused, alike', () => {
  for (const { name, reference, ours, bytes } of encodedSamples) {
    const withUnknown = Buffer.concat([bytes, UNKNOWN]);
    for (let end = 0; end < withUnknown.length; end++) {
      const cut = withUnknown.subarray(0, end);
      assert.deepEqual(outcome(ours, cut), outcome(reference, cut), `${name} cut at ${end}`);
    }
  }
});

test('damaged messages (bytes changed, inserted, removed) are read, or refused, alike', () => {
  let seed = 0x5eed;
  const random = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  for (const { name, reference, ours, bytes } of encodedSamples) {
    if (bytes.length === 0) continue;
    for (let i = 0; i < 300; i++) {
      const damaged = [...bytes];
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(damaged.length);
        const kind = random(3);
        if (kind === 0) damaged[at] = random(256);
        else if (kind === 1) damaged.splice(at, 0, random(256));
        else if (damaged.length > 1) damaged.splice(at, 1);
      }
      const variant = Buffer.from(damaged);
      assert.deepEqual(outcome(ours, variant), outcome(reference, variant), `${name}: ${variant.toString('hex')}`);
    }
  }
});

test('messages nested past the limit are refused alike, and those within it read alike', () => {
  const validation = codecs.find((codec) => codec.name === 'ValidateJWTSVIDResponse')!;
  const field = (number: number, bytes: Buffer): Buffer => Buffer.from([...key(number, 2), ...varint(BigInt(bytes.length)), ...bytes]);
  const seen = new Set<string>();
  // claims { fields { "k": Value { listValue { values [ Value { listValue … } ] } } } }: two levels a
  // step, ending in an empty Value or one more level, an empty ListValue: every depth around the limit.
  for (const [levels, innermost] of [45, 48, 49, 50, 55].flatMap((levels) => [[levels, Buffer.alloc(0)], [levels, field(6, Buffer.alloc(0))]] as const)) {
    let value = innermost;
    for (let i = 0; i < levels; i++) value = field(6, field(1, value));
    const bytes = field(2, field(1, Buffer.concat([field(1, Buffer.from('k')), field(2, value)])));
    const expected = outcome(validation.reference, bytes);
    seen.add(Object.keys(expected)[0]!);
    assert.deepEqual(outcome(validation.ours, bytes), expected, `${levels} levels`);
  }
  assert.deepEqual([...seen].sort(), ['refused', 'value']);
});

test('the committed codec is what the generator makes of the descriptor', async () => {
  const committed = await readFile(new URL('../../src/spiffe/workload/codec.ts', import.meta.url), 'utf8');
  const descriptor = JSON.parse(await readFile(new URL('../../src/spiffe/workload/workload-descriptor.json', import.meta.url), 'utf8'));
  assert.equal(committed, workloadCodecSource(descriptor), 'run node scripts/proto-codec.ts');
});
