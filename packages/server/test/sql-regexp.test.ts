import assert from 'node:assert/strict';
import { test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { MlflowError } from '../src/entities/errors.js';
import { rlikePattern } from '../src/store/sql-regexp.js';
import { openSqliteConnection } from '../src/store/sqlite-connection.js';

// RLIKE's patterns on SQLite: Python's spellings (what MLflow's SQLite store runs, re.search) as
// JavaScript RegExps, and the regexp function every connection gets.

const matches = (pattern: string, value: string) => rlikePattern(pattern).test(value);

test('unanchored and case-sensitive, like re.search and PostgreSQL ~', () => {
  assert.equal(matches('gpt', 'openai/gpt-4'), true);
  assert.equal(matches('^gpt', 'openai/gpt-4'), false);
  assert.equal(matches('GPT', 'gpt'), false);
});

test("Python's spellings: inline flags, named groups and back-references, \\A and \\Z", () => {
  assert.equal(matches('(?i)GPT', 'gpt-4'), true);
  assert.equal(matches('(?is)a.b', 'A\nB'), true);
  assert.equal(matches('(?m)^b$', 'a\nb'), true);
  assert.equal(matches('(?P<w>ab)-(?P=w)', 'x ab-ab y'), true);
  assert.equal(matches('(?P<w>ab)-(?P=w)', 'ab-ac'), false);
  // \A and \Z are the whole value's ends even under (?m), where ^ and $ are lines'.
  assert.equal(matches('(?m)\\Ab', 'a\nb'), false);
  assert.equal(matches('(?m)a\\Z', 'a\nb'), false);
  assert.equal(matches('\\Aa\\nb\\Z', 'a\nb'), true);
  // Inside a class they stay as written; a ] first in a class is a literal, as in Python.
  assert.equal(matches('[]x]', 'a]'), true);
  assert.equal(matches('[^]x]', ']x'), false);
  assert.equal(matches('[(?P<]', 'P'), true);
  // An escaped backslash is not the start of \A.
  assert.equal(matches('\\\\A', 'x\\Ay'), true);
});

test('what does not compile, and flags JavaScript lacks, are INVALID_PARAMETER_VALUE', () => {
  for (const bad of ['(unclosed', '[a-', '*x', 'a{2,1}', '(?x)a b', '(?a)\\w', 'x\\']) {
    assert.throws(
      () => rlikePattern(bad),
      (e: unknown) =>
        e instanceof MlflowError &&
        e.errorCode === 'INVALID_PARAMETER_VALUE' &&
        e.message.startsWith(`Invalid regular expression '${bad}' for RLIKE: `),
      bad,
    );
  }
});

test('every SQLite connection has REGEXP; NULL matches nothing', () => {
  const conn: BetterSqlite3.Database = openSqliteConnection(':memory:');
  try {
    const row = conn
      .prepare(
        "select 'gpt-4' regexp '^gpt-[0-9]$' as yes, 'gpt-4' regexp '^claude' as no, null regexp 'x' as absent",
      )
      .get() as Record<string, unknown>;
    assert.deepEqual({ ...row }, { yes: 1, no: 0, absent: null });
  } finally {
    conn.close();
  }
});
