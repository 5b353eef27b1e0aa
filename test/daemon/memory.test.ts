import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { cachedDataVersionTag } from 'node:v8';
import { Collector, holdYoungGeneration, releaseYoungGeneration } from '../../src/helper/run/memory.ts';
import { waitFor } from '../support/wait.ts';

test('a write that finds the heap well above its level at rest is followed by a full collection, and V8 flags end as they began', async (t) => {
  const tag = cachedDataVersionTag();
  const majors: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (((entry as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  t.after(() => observer.disconnect());
  const collector = new Collector();
  collector.afterWrite(); // the level at rest
  const large = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `certificate ${i}` }));
  const after = performance.now();
  collector.afterWrite();
  await waitFor(() => majors.some((at) => at > after), { what: 'a full collection', timeoutMs: 30_000 });
  assert.equal(large.length, 200_000);
  assert.equal(cachedDataVersionTag(), tag, 'the code cache key is unchanged');
  assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'gc is not left on the global object');
});

test('the young generation held while the daemon runs is released as it stops, with V8 flags as they began', () => {
  const tag = cachedDataVersionTag();
  holdYoungGeneration();
  assert.notEqual(cachedDataVersionTag(), tag, 'the hold is a V8 flag');
  releaseYoungGeneration();
  assert.equal(cachedDataVersionTag(), tag);
});
