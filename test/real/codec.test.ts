// The generated codec against a real SPIRE 1.15 agent: every Workload API response, as the agent's
// bytes, is read by the codec exactly as proto-loader reads it; and the agent accepts every request
// as the codec writes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, credentials, makeGenericClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { methods } from '../../src/spiffe/workload/codec.ts';
import { Spire, spireUnavailable } from '../support/spire.ts';
import { codecs, outcome, type Codec } from '../workload/codec-reference.ts';

const skip = spireUnavailable();

/** A client that writes requests with the codec and hands back the agent's response bytes untouched. */
const RawClient = makeGenericClientConstructor(
  Object.fromEntries(
    Object.entries(methods).map(([name, method]) => [
      name,
      { path: method.path, requestStream: false, responseStream: method.responseStream, requestSerialize: method.request.encode, responseDeserialize: (bytes: Buffer) => bytes, originalName: name },
    ]),
  ) as unknown as ServiceDefinition,
  'SpiffeWorkloadAPI',
);
type Raw = Record<string, (...args: unknown[]) => unknown> & { close(): void };

function header(): Metadata {
  const metadata = new Metadata();
  metadata.set('workload.spiffe.io', 'true');
  return metadata;
}

/** The first message of a stream. */
function first(client: Raw, method: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const call = client[method]!({}, header()) as NodeJS.EventEmitter & { cancel(): void };
    call.once('data', (bytes: Buffer) => {
      resolve(bytes);
      call.cancel();
    });
    call.once('error', (error: Error) => reject(error));
  });
}

function unary(client: Raw, method: string, request: object): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client[method]!(request, header(), (error: Error | null, bytes: Buffer) => (error === null ? resolve(bytes) : reject(error)));
  });
}

const codec = (name: string): { reference: Codec; ours: Codec } => codecs.find((c) => c.name === name)!;

test('every response of a real SPIRE agent is read by the codec as proto-loader reads it', { skip, timeout: 240_000 }, async (t) => {
  const spire = await Spire.start(t, { logLevel: 'WARN' });
  const spiffeId = `spiffe://${spire.trustDomain}/codec`;
  await spire.createEntry({ spiffeId, hint: 'codec', dns: ['localhost'] });
  await spire.waitForSvid(spiffeId);
  const client = new RawClient(`unix://${spire.agentSocket}`, credentials.createInsecure()) as unknown as Raw;
  t.after(() => client.close());

  const x509 = await first(client, 'FetchX509SVID');
  const bundles = await first(client, 'FetchX509Bundles');
  const jwtBundles = await first(client, 'FetchJWTBundles');
  const jwt = await unary(client, 'FetchJWTSVID', { audience: ['db', 'cache'], spiffe_id: spiffeId });
  const token = (codec('JWTSVIDResponse').ours.decode(jwt) as { svids: { svid: string }[] }).svids[0]!.svid;
  const validated = await unary(client, 'ValidateJWTSVID', { audience: 'db', svid: token });

  const responses: [string, Buffer][] = [
    ['X509SVIDResponse', x509],
    ['X509BundlesResponse', bundles],
    ['JWTBundlesResponse', jwtBundles],
    ['JWTSVIDResponse', jwt],
    ['ValidateJWTSVIDResponse', validated],
  ];
  for (const [name, bytes] of responses) {
    const { reference, ours } = codec(name);
    const expected = outcome(reference, bytes);
    assert.ok('value' in expected, `${name}: proto-loader reads the agent's bytes`);
    assert.deepEqual(outcome(ours, bytes), expected, name);
    // And written back as proto-loader writes it.
    assert.deepEqual(ours.encode(expected.value as object), reference.encode(expected.value as object), `${name} written back`);
  }
  const svid = (codec('X509SVIDResponse').ours.decode(x509) as { svids: { spiffe_id: string; hint: string }[] }).svids[0]!;
  assert.deepEqual([svid.spiffe_id, svid.hint], [spiffeId, 'codec'], 'the agent answered the request the codec wrote');
  const claims = codec('ValidateJWTSVIDResponse').ours.decode(validated) as { spiffe_id: string; claims: { fields: Record<string, { kind?: string }> } };
  assert.equal(claims.spiffe_id, spiffeId);
  assert.equal(claims.claims.fields.aud?.kind, 'listValue', 'the claims Struct, a list among them');
});
