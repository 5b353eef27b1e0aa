import { test } from 'node:test';
import { Spire, spireUnavailable } from '../support/spire.ts';

test('a real SPIRE server and agent serve an SVID to a registered uid', { skip: spireUnavailable() }, async (t) => {
  const spire = await Spire.start(t);
  await spire.createEntry({ spiffeId: 'spiffe://example.org/smoke' });
  await spire.waitForSvid('spiffe://example.org/smoke');
});
