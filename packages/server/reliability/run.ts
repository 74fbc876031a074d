// The long campaigns, by hand: `npm run reliability [-- --campaign fuzz|crash|faults|limits|artifact-store ...]`
// (all five by default). Fuzz: `--requests N --seed S --dialect sqlite|postgres`; crash: `--kills N
// --workers 1,4`; limits: `--upload-mb N --points N --slow-connections N`.
import { parseArgs } from 'node:util';
import { DIALECTS, type DialectName } from '../test/helpers.js';
import { describeFailure, runCampaign } from './campaign.js';
import { runCrashCampaign } from './crash.js';

const { values } = parseArgs({
  options: {
    campaign: { type: 'string', multiple: true },
    requests: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    dialect: { type: 'string', multiple: true },
    kills: { type: 'string', default: '100' },
    workers: { type: 'string', default: '1,4' },
    'upload-mb': { type: 'string', default: '1024' },
    points: { type: 'string', default: '1000000' },
    'slow-connections': { type: 'string', default: '2000' },
  },
});
const campaigns = values.campaign ?? ['fuzz', 'crash', 'faults', 'limits', 'artifact-store'];
const dialects = (values.dialect ?? DIALECTS) as DialectName[];
const seed = Number(values.seed);
let failed = 0;

if (campaigns.includes('fuzz')) {
  const total = Number(values.requests);
  for (const dialect of dialects) {
    const result = await runCampaign({
      dialect,
      requests: Math.ceil(total / dialects.length),
      seed,
      batchSize: 500,
      progress: (line) => process.stderr.write(`\r${line}   `),
    });
    process.stderr.write('\n');
    const { failures, byRoute, ...figures } = result;
    console.log(JSON.stringify({ ...figures, routesFuzzed: Object.keys(byRoute).length }, null, 2));
    for (const f of failures) console.log(describeFailure(f));
    failed += failures.length;
  }
  // The users and permissions endpoints of --app-name basic-auth: a tenth as many requests, on SQLite.
  const auth = await runCampaign({
    dialect: 'sqlite',
    requests: Math.ceil(total / 10),
    seed,
    batchSize: 500,
    auth: true,
  });
  const { failures, byRoute, ...figures } = auth;
  console.log(
    JSON.stringify({ app: 'basic-auth', ...figures, routesFuzzed: Object.keys(byRoute).length }, null, 2),
  );
  for (const f of failures) console.log(describeFailure(f));
  failed += failures.length;
}

if (campaigns.includes('crash')) {
  for (const dialect of dialects) {
    for (const workers of values.workers.split(',').map(Number)) {
      const result = await runCrashCampaign({
        dialect,
        workers,
        kills: Number(values.kills),
        seed,
        progress: (line) => process.stderr.write(`\r${line}   `),
      });
      process.stderr.write('\n');
      const { restartMs, ...figures } = result;
      const { all, ...restart } = restartMs;
      console.log(JSON.stringify({ ...figures, restartMs: restart }, null, 2));
      failed += result.lost.length + result.corrupt.length + result.refused.length;
    }
  }
}

if (campaigns.includes('faults') || campaigns.includes('limits')) {
  const { runFaultsAndLimits } = await import('./faults-limits.js');
  failed += await runFaultsAndLimits(campaigns, {
    uploadMb: Number(values['upload-mb']),
    points: Number(values.points),
    slowConnections: Number(values['slow-connections']),
  });
}
if (campaigns.includes('artifact-store')) {
  const { artifactStoreOutage, azuriteStore, motoStore, radosgwStore } = await import(
    './artifact-store-outage.js'
  );
  for (const store of [motoStore, radosgwStore, azuriteStore]) {
    const result = await artifactStoreOutage(await store());
    console.log(JSON.stringify(result, null, 2));
    const answers = [result.proxiedUpload, result.multipartComplete, ...Object.values(result.whileDown)];
    const crashed = answers.some(
      (a) => typeof a.status !== 'number' || (a.status >= 500 && a.status !== 503),
    );
    if (crashed || result.halfWrittenListed.length || !result.serverStayedUp || result.after.upload !== 200)
      failed++;
  }
}

process.exit(failed ? 1 : 0);
