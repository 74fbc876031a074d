// The long fuzzing run, by hand: `npm run reliability [-- --requests N --seed S --dialect sqlite|postgres]`.
import { parseArgs } from 'node:util';
import { DIALECTS, type DialectName } from '../test/helpers.js';
import { describeFailure, runCampaign } from './campaign.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    dialect: { type: 'string', multiple: true },
  },
});
const dialects = (values.dialect ?? DIALECTS) as DialectName[];
const total = Number(values.requests);
let failed = 0;
for (const dialect of dialects) {
  const result = await runCampaign({
    dialect,
    requests: Math.ceil(total / dialects.length),
    seed: Number(values.seed),
    batchSize: 500,
    progress: (line) => process.stderr.write(`\r${line}   `),
  });
  process.stderr.write('\n');
  const { failures, byRoute, ...figures } = result;
  console.log(JSON.stringify({ ...figures, routesFuzzed: Object.keys(byRoute).length }, null, 2));
  for (const f of failures) console.log(describeFailure(f));
  failed += failures.length;
}
process.exit(failed ? 1 : 0);
