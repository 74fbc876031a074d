// The artifact store stopped mid-upload, short form inside `npm test`: a private moto (S3) killed while a
// proxied upload and a multipart upload are in flight. The long form adds a private radosgw (its cluster
// takes some 13 s to build) and Azurite (Azure Blob, whose SDK retries each call for about 16 s):
// `npm run reliability -- --campaign artifact-store`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { artifactStoreOutage, motoStore } from './artifact-store-outage.js';

const UNAVAILABLE = {
  status: 503,
  errorCode: 'TEMPORARILY_UNAVAILABLE',
  message: 'The artifact store cannot be reached; nothing was read or saved. Send the request again shortly.',
};

test('the S3 store killed mid-upload: the uploads fail with 503 TEMPORARILY_UNAVAILABLE, nothing half-written is listed, uploads work once it is back', async () => {
  const r = await artifactStoreOutage(await motoStore());
  const { ms: _a, ...proxied } = r.proxiedUpload;
  assert.deepEqual(proxied, UNAVAILABLE, 'the proxied upload cut by the kill');
  const { ms: _b, ...complete } = r.multipartComplete;
  assert.deepEqual(complete, UNAVAILABLE, 'mpu/complete of the upload whose second part never arrived');
  for (const name of ['PUT artifact', 'GET artifact', 'GET listing', 'DELETE artifact', 'mpu/create']) {
    const { ms: _c, ...answer } = r.whileDown[name];
    assert.deepEqual(answer, UNAVAILABLE, `${name} while the store is down`);
  }
  // The rest of the server goes on: health and tracking answer.
  assert.equal(r.whileDown['/health'].status, 200);
  assert.equal(r.whileDown['experiments/create'].status, 200);
  assert.deepEqual(r.halfWrittenListed, []);
  assert.deepEqual(r.after, { upload: 200, readBack: true, multipart: 200, listed: true });
  assert.equal(r.serverStayedUp, true);
});
