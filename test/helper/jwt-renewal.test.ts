import assert from 'node:assert/strict';
import test from 'node:test';
import { JwtSvidRenewer } from '../../src/pipeline/jwt-renewal.ts';
import { WorkloadApiError } from '../../src/workload/index.ts';
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
