// The crash-consistency campaign's short form inside `npm test`: a few SIGKILLs under 20 writing clients
// on each store (one with --workers 4). The long form, hundreds of kills on every configuration, is
// `npm run reliability -- --campaign crash` (figures in docs/reliability.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DialectName } from '../test/helpers.js';
import { runCrashCampaign } from './crash.js';

const CONFIGURATIONS: { dialect: DialectName; workers: number; kills: number }[] = [
  { dialect: 'sqlite', workers: 1, kills: 2 },
  { dialect: 'postgres', workers: 4, kills: 1 },
];

for (const { dialect, workers, kills } of CONFIGURATIONS) {
  test(`${dialect}, --workers ${workers}: ${kills} SIGKILLs under load lose no acknowledged write`, async () => {
    const r = await runCrashCampaign({ dialect, workers, kills, seed: 20261207, loadMs: [400, 1200] });
    assert.equal(r.kills, kills);
    assert.deepEqual(r.lost, []);
    assert.deepEqual(r.corrupt, []);
    assert.deepEqual(r.refused, []);
    // The load reached the store before each kill, and each kill cut requests off mid-flight.
    assert.ok(r.acknowledged.batches > 0 && r.acknowledged.runs >= 20, JSON.stringify(r.acknowledged));
    assert.ok(r.cutOff >= kills, `${r.cutOff} requests cut off`);
  });
}
