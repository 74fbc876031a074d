import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { create } from 'tar';

// The project directory as a gzipped tar whose bytes depend only on the files' paths, contents and
// modes: entries sorted, no owners or timestamps (node's gzip header carries no time either). So the
// same project always gets the same sha256 name on DBFS and is uploaded once.

/** The single top-level directory in the archive, as in MLflow. */
export const ARCHIVE_ROOT = 'mlflow-project';

function entries(dir: string, rel = ''): string[] {
  const out: string[] = [];
  const names = readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of names) {
    // Local tracking data is not part of the project (MLflow skips it too).
    if (entry.name === 'mlruns') continue;
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    out.push(child);
    if (entry.isDirectory()) out.push(...entries(dir, child));
  }
  return out;
}

export interface ProjectArchive {
  data: Buffer;
  sha256: string;
  files: number;
}

export async function archiveProject(workDir: string): Promise<ProjectArchive> {
  const list = entries(workDir);
  const chunks: Buffer[] = [];
  const stream = create(
    { cwd: workDir, gzip: true, portable: true, noMtime: true, noDirRecurse: true, prefix: ARCHIVE_ROOT },
    list.length > 0 ? list : ['.'],
  );
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  const data = Buffer.concat(chunks);
  return { data, sha256: createHash('sha256').update(data).digest('hex'), files: list.length };
}
