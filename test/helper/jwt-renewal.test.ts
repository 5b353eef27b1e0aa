import assert from 'node:assert/strict';
import test from 'node:test';
import { JwtSvidRenewer } from '../../src/helper/pipeline/jwt-renewal.ts';
import { WorkloadApiError } from '../../src/spiffe/workload/index.ts';
import { jwtSvidRenewalTime } from '../../src/spiffe/sources/index.ts';
import { SpiffeId, type JwtSvid } from '../../src/spiffe/svid/index.ts';
import { waitFor } from '../support/wait.ts';

test('JWT-SVID renewal retries a failing source with the one Backoff policy, capped as configured', async (t) => {
  let calls = 0;
  const source = {
    fetchJwtSvids: async () => {
      calls++;
      throw new WorkloadApiError('Unavailable', 'the agent is gone', '');
    },
  };
  const delays: number[] = [];
  const renewer = new JwtSvidRenewer(source, {
    audience: 'db',
    extraAudiences: [],
    spiffeId: undefined,
    hint: '',
    backoff: { initialMs: 20, maxMs: 40 },
    onToken: () => assert.fail('no token can arrive'),
    onError: (_error, retryInMs) => delays.push(retryInMs),
  });
  t.after(() => renewer.stop());
  renewer.start();
  await waitFor(() => delays.length >= 4, { what: 'four failed fetches' });
  // Ceilings 20, 40, 40, 40 (doubling, capped at maxMs), each delay jittered into [ceiling / 2, ceiling].
  [20, 40, 40, 40].forEach((ceiling, i) => assert.ok(delays[i]! >= ceiling / 2 && delays[i]! <= ceiling, `retry ${i + 1}: ${delays[i]} ms within [${ceiling / 2}, ${ceiling}]`));
  assert.ok(calls >= 4);
});

test('JWT-SVID renewal follows the source cache\'s timing rule: a token issued "later" than its fetch (a skewed clock) is renewed half way from the fetch', async (t) => {
  const start = Date.parse('2030-01-01T00:00:00Z');
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: start });
  const token = (issuedAt: Date | undefined): JwtSvid => ({
    id: SpiffeId.parse('spiffe://example.org/db-client'),
    token: `token-${Date.now()}`,
    audience: ['db'],
    expiresAt: new Date(Date.now() + 100_000),
    issuedAt,
    claims: {},
    hint: '',
  });
  const fetchedAt: number[] = [];
  const source = {
    // The first token's iat is 60 s in the future; the ones after have none (the other fallback).
    fetchJwtSvids: async () => [token(fetchedAt.push(Date.now()) === 1 ? new Date(Date.now() + 60_000) : undefined)],
  };
  const renewer = new JwtSvidRenewer(source, { audience: 'db', extraAudiences: [], spiffeId: undefined, hint: '', random: () => 0, onToken: () => {}, onError: (error) => assert.fail(error) });
  t.after(() => renewer.stop());
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  renewer.start();
  t.mock.timers.tick(0);
  await settle();
  assert.deepEqual(fetchedAt, [start]);
  // Half of the 100 s from the fetch, as jwtSvidRenewalTime says; counted from the future iat it would be 80 s.
  t.mock.timers.tick(49_999);
  await settle();
  assert.equal(fetchedAt.length, 1, 'not renewed before half its lifetime');
  t.mock.timers.tick(1);
  await settle();
  assert.deepEqual(fetchedAt, [start, start + 50_000]);
  // No iat: half way from the fetch too.
  t.mock.timers.tick(50_000);
  await settle();
  assert.deepEqual(fetchedAt, [start, start + 50_000, start + 100_000]);
});

test('jwtSvidRenewalTime: half way from iat; from the fetch when iat is missing or later than the fetch', () => {
  const expiresAt = new Date(10_000);
  assert.equal(jwtSvidRenewalTime({ issuedAt: new Date(2_000), expiresAt }, 4_000), 6_000);
  assert.equal(jwtSvidRenewalTime({ issuedAt: undefined, expiresAt }, 4_000), 7_000);
  assert.equal(jwtSvidRenewalTime({ issuedAt: new Date(6_000), expiresAt }, 4_000), 7_000);
  assert.equal(jwtSvidRenewalTime({ issuedAt: new Date(0), expiresAt }, 4_000, 0.55), 5_500);
});
