// The fast fault suite: a few of each fault against real helper processes (the long run is
// `npm run soak`). Every fault must be survived with the files on disk one complete, consistent set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentKills, badMessages, helperKills, rotationsUnderReader, socketRemoved, type FaultRow } from './faults.ts';

function assertSurvived(row: FaultRow): void {
  assert.equal(row.survived, row.tries, `${row.fault}: survived ${row.survived} of ${row.tries}`);
  assert.equal(row.filesLost, 0, `${row.fault}: the set was incomplete or inconsistent ${row.filesLost} times`);
}

test('the agent killed at random points: the helper keeps the set and takes the new agent\'s SVID', async (t) => {
  assertSurvived(await agentKills(t, 3));
});

test('the agent socket removed and re-created: the helper reconnects', async (t) => {
  assertSurvived(await socketRemoved(t, 2));
});

test('garbage, mismatched, empty, foreign and oversize messages are refused; the next good rotation lands', async (t) => {
  assertSurvived(await badMessages(t, 1));
});

test('the helper SIGKILLed mid-write: every output is present and consistent after each kill and restart', async (t) => {
  const row = await helperKills(t, 5);
  assertSurvived(row);
});

test('rotations under a concurrent reader: no inconsistent set, open files flat, at most 2 generation directories', async (t) => {
  const row = await rotationsUnderReader(t, 200);
  assertSurvived(row);
  assert.ok(row.figures.reads > 0, 'the reader read');
  assert.ok(row.figures.fdsAfter <= row.figures.fdsBefore + 2, `open fds ${row.figures.fdsBefore} → ${row.figures.fdsAfter}`);
  assert.ok(row.figures.generationDirs <= 2, `${row.figures.generationDirs} generation directories`);
});
