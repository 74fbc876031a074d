import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MlflowError } from '../src/entities/errors.js';
import { SpansShapeError, SpansSplitter } from '../src/tracing/spans-splitter.js';
import { spanDocumentPages } from '../src/tracing/trace-data-file.js';

// A traces.json read as it arrives: the splitter finds the `spans` list's elements whatever the
// pieces' boundaries, and spanDocumentPages turns them into stored documents a page at a time.

function split(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

function elements(pieces: string[]): string[] {
  const s = new SpansSplitter();
  const out = pieces.flatMap((p) => s.push(p));
  assert.equal(s.end(), true);
  return out;
}

const span = (i: number) => ({
  trace_id: 'AAAAAAAAAAAAAAAAAAAAAA==',
  span_id: Buffer.from(`span${String(i).padStart(4, '0')}`).toString('base64'),
  parent_span_id: null,
  name: `s-${i} "quoted" [x] {y}`,
  start_time_unix_nano: '__T__',
  end_time_unix_nano: '__E__',
  events: [],
  status: { code: 'STATUS_CODE_OK', message: 'a\\"b' },
  attributes: { 'mlflow.spanInputs': JSON.stringify({ spans: [1, 2], q: 'x]}' }) },
});

/** A file of `n` spans with other keys around the list, times as exact 19-digit numbers. */
function file(n: number): string {
  const body = JSON.stringify({
    request: '{"spans": ["not these"]}',
    meta: { spans: [{ nested: true }] },
    spans: Array.from({ length: n }, (_, i) => span(i)),
    response: [1, { spans: 2 }],
  });
  let t = 0;
  let e = 0;
  return body
    .replace(/"__T__"/g, () => `17000000000000000${String(t++).padStart(2, '0')}`)
    .replace(/"__E__"/g, () => `17000000010000000${String(e++).padStart(2, '0')}`);
}

async function* bytes(text: string, size: number): AsyncGenerator<Uint8Array> {
  const all = Buffer.from(text);
  for (let i = 0; i < all.length; i += size) yield all.subarray(i, i + size);
}

async function errorOf(promise: Promise<unknown>): Promise<MlflowError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof MlflowError, String(e));
    return e;
  }
  throw new Error('expected an error');
}

async function collect(pages: AsyncIterable<string[]>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe('SpansSplitter', () => {
  test('finds the top-level list only, whatever the pieces', () => {
    const text = file(3);
    const whole = elements([text]);
    assert.equal(whole.length, 3);
    assert.deepEqual(
      whole.map((e) => (JSON.parse(e) as { name: string }).name),
      [0, 1, 2].map((i) => `s-${i} "quoted" [x] {y}`),
    );
    for (const size of [1, 2, 3, 7, 64])
      assert.deepEqual(elements(split(text, size)), whole, `pieces of ${size}`);
  });

  test('bare values and an empty list', () => {
    assert.deepEqual(elements(['{"spans": [1, "a,]", true , null]}']), ['1', '"a,]"', 'true', 'null']);
    assert.deepEqual(elements(['{"spans":[]}']), []);
    const blank = new SpansSplitter();
    assert.deepEqual(blank.push(' \n '), []);
    assert.equal(blank.end(), false);
  });

  test('refuses what is not a {"spans": [...]} document', () => {
    const shape = (text: string) => {
      const s = new SpansSplitter();
      s.push(text);
      return s.end();
    };
    assert.throws(() => shape('[1, 2]'), SpansShapeError);
    assert.throws(() => shape('{"spans": [{"a": 1}'), /not JSON/);
    assert.throws(() => shape('{"spans": []}}'), /not JSON/);
    assert.throws(() => shape('{"spans": []} x'), /not JSON/);
    assert.throws(() => shape('{"data": [1]}'), /no "spans" list/);
    assert.throws(() => shape('{"spans": 5}'), /no "spans" list/);
    assert.throws(() => shape('{"spans": [], "spans": []}'), /two "spans" lists/);
    assert.throws(() => shape('{"spans": ["unclosed'), /not JSON/);
  });
});

describe('spanDocumentPages', () => {
  test('pages of the stored documents, times exact, from pieces of any size', async () => {
    const text = file(25);
    for (const size of [1, 5, 100, 1 << 16]) {
      const pages = await collect(spanDocumentPages(bytes(text, size), 'tr-x', 10));
      const docs = pages.flat();
      assert.equal(docs.length, 25, `pieces of ${size}`);
      assert.ok(
        pages.every((p) => p.length >= 10 || p === pages[pages.length - 1]),
        'full pages but the last',
      );
      assert.match(docs[7], /"start_time_unix_nano":1700000000000000007[,}]/);
      assert.match(docs[7], /"end_time_unix_nano":1700000001000000007[,}]/);
      assert.equal((JSON.parse(docs[24]) as { name: string }).name, 's-24 "quoted" [x] {y}');
    }
  });

  test('a multi-byte character cut between pieces is read whole', async () => {
    const text = JSON.stringify({
      spans: [{ trace_id: 't', span_id: 's', name: 'naïve — 日本', start_time_unix_nano: 1, events: [] }],
    });
    const [[doc]] = await collect(spanDocumentPages(bytes(text, 1), 'tr-x', 10));
    assert.equal((JSON.parse(doc) as { name: string }).name, 'naïve — 日本');
  });

  test('what is not trace data: MLflow errors, the first page before anything is handed out', async () => {
    const first = (text: string) => spanDocumentPages(bytes(text, 3), 'tr-x', 10).next();
    assert.equal((await errorOf(first(''))).errorCode, 'NOT_FOUND');
    assert.match(
      (await errorOf(first('{"spans": ['))).message,
      /corrupted for request_id=tr-x: the file is not JSON/,
    );
    assert.match((await errorOf(first('{"spans": [42]}'))).message, /span 0 is not an object/);
    assert.match((await errorOf(first('{"spans": [{"name": }]}'))).message, /not JSON/);
    // A file that breaks after its first page fails where it breaks.
    const broken = `${file(15)
      .slice(0, -1)
      .replace(/\]\s*,\s*"response".*$/s, '')}, 42]}`;
    const pages = spanDocumentPages(bytes(broken, 50), 'tr-x', 10);
    assert.equal((await pages.next()).value?.length, 10);
    assert.match((await errorOf(pages.next())).message, /span 15 is not an object/);
  });
});
