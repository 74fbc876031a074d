// Which driver and system errors become 503 TEMPORARILY_UNAVAILABLE (a full disk, a database out of
// reach) and which stay 500s; the end-to-end checks are in reliability/faults.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faultError } from '../src/http/fault-errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('a full disk and a lost database are 503 TEMPORARILY_UNAVAILABLE with a message saying so', () => {
  for (const error of [
    withCode('database or disk is full', 'SQLITE_FULL'),
    withCode('ENOSPC: no space left on device, write', 'ENOSPC'),
  ]) {
    const mapped = faultError(error);
    assert.equal(mapped?.errorCode, 'TEMPORARILY_UNAVAILABLE');
    assert.match(mapped?.message ?? '', /no storage space left; nothing was saved/);
  }
  for (const error of [
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    withCode('terminating connection due to administrator command', '57P01'),
    withCode('the database system is starting up', '57P03'),
    withCode('connection failure', '08006'),
    new Error('Connection terminated unexpectedly'),
  ]) {
    const mapped = faultError(error);
    assert.equal(mapped?.errorCode, 'TEMPORARILY_UNAVAILABLE', error.message);
    assert.match(mapped?.message ?? '', /database cannot be reached/);
  }
});

test('other errors are not faults: they stay 500s', () => {
  for (const error of [
    new Error('boom'),
    withCode('UNIQUE constraint failed', 'SQLITE_CONSTRAINT_PRIMARYKEY'),
    withCode('duplicate key value violates unique constraint', '23505'),
    withCode('EACCES: permission denied', 'EACCES'),
  ]) {
    assert.equal(faultError(error), undefined, error.message);
  }
});
