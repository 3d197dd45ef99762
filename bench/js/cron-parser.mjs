// The cron measurement of bench/cron_bench.c, for cron-parser (npm), a widely
// used cron library: ns per parse and per next() (chained from 2026-01-01),
// median of 9 runs, same expressions and zones.
import os from 'node:os';
import { CronExpressionParser } from 'cron-parser';

const set = [
  ['*/5 9-17 * * MON-FRI', 'UTC'],
  ['0 0 29 2 *', 'UTC'],
  ['0 0 L * *', 'UTC'],
  ['30 2 * * *', 'America/New_York'],
  ['0 */15 * * * *', 'UTC'],
  ['0 0 12 ? * 2#3', 'UTC'],
];
const RUNS = 9, BUDGET_NS = 200_000_000n;   // each run: as many calls as fit in 200 ms
const start = new Date('2026-01-01T00:00:00Z');
// ns per call of f, calling it in batches until BUDGET_NS has passed
function timed(f) {
  const t0 = process.hrtime.bigint();
  let n = 0, t;
  do {
    for (let k = 0; k < 16; k++) f();
    n += 16;
    t = process.hrtime.bigint() - t0;
  } while (t < BUDGET_NS);
  return Number(t) / n;
}
const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];

const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
console.log(`machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}, ` +
  `cron-parser ${(await import('cron-parser/package.json', { with: { type: 'json' } })).default.version}`);
console.log(`${'expression'.padEnd(24)} ${'zone'.padEnd(18)} ${'parse ns'.padStart(10)} ${'next ns'.padStart(10)}`);
for (const [expr, tz] of set) {
  const parseNs = [], nextNs = [];
  for (let r = 0; r < RUNS; r++) {
    parseNs.push(timed(() => CronExpressionParser.parse(expr, { currentDate: start, tz })));
    const it = CronExpressionParser.parse(expr, { currentDate: start, tz });
    nextNs.push(timed(() => it.next()));
  }
  console.log(`${expr.padEnd(24)} ${tz.padEnd(18)} ${median(parseNs).toFixed(1).padStart(10)} ${median(nextNs).toFixed(1).padStart(10)}`);
}
