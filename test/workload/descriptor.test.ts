import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { workloadDescriptorJson } from '../../scripts/proto-descriptor.ts';

test('the pre-built Workload API descriptor is current with workload.proto', async () => {
  const committed = await readFile(new URL('../../src/spiffe/workload/workload-descriptor.json', import.meta.url), 'utf8');
  assert.equal(committed, workloadDescriptorJson(), 'run node scripts/proto-descriptor.ts');
});
