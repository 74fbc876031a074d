import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { ExecutionError } from './execution-error.js';

// Downloads a project archive over http(s) into a local file, reporting progress as the Git clone
// does (completed lines on stderr). Failures use MLflow's wording for _fetch_zip_repo
// ("Unable to retrieve ZIP file. Reason: 404 Client Error: Not Found for url: ...").

const MIB = 1024 * 1024;

function megabytes(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/** A progress line every tenth of a known size, or every 10 MiB when the server sends no length. */
function progressReporter(total: number | undefined, log: (line: string) => void): Transform {
  let received = 0;
  let reported = 0;
  const step = total ? Math.max(total / 10, 1) : 10 * MIB;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received - reported >= step) {
        reported = received - (received % step);
        log(
          total
            ? `  download: ${megabytes(received)} of ${megabytes(total)} (${Math.floor((received / total) * 100)}%)`
            : `  download: ${megabytes(received)}`,
        );
      }
      done(null, chunk);
    },
    flush(done) {
      log(`  download: done, ${megabytes(received)}`);
      done();
    },
  });
}

export async function downloadToFile(url: string, file: string, log: (line: string) => void): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    throw new ExecutionError(
      `Unable to retrieve ZIP file. Reason: ${cause?.message ?? (error as Error).message} for url: ${url}`,
    );
  }
  if (!response.ok) {
    const kind = response.status >= 500 ? 'Server Error' : 'Client Error';
    const text = (await response.text().catch(() => '')).trim().slice(0, 300);
    throw new ExecutionError(
      `Unable to retrieve ZIP file. Reason: ${response.status} ${kind}: ${response.statusText} for url: ${url}${text ? `. Response text: ${text}` : ''}`,
    );
  }
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  log(`  download: ${url}${total ? ` (${megabytes(total)})` : ''}`);
  if (!response.body)
    throw new ExecutionError(`Unable to retrieve ZIP file. Reason: empty answer for url: ${url}`);
  try {
    await pipeline(
      Readable.fromWeb(response.body as ReadableStream),
      progressReporter(total, log),
      createWriteStream(file),
    );
  } catch (error) {
    throw new ExecutionError(
      `Unable to retrieve ZIP file. Reason: the download broke off (${(error as Error).message}) for url: ${url}`,
    );
  }
}
