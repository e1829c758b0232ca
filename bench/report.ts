import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where the benchmarks write their reports (git-ignored). */
export const OUT = join(import.meta.dirname, 'out');
mkdirSync(OUT, { recursive: true });

export const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** A report's lines, each also printed as it is said. */
export function report() {
  const lines: string[] = [];
  const say = (s = '') => {
    lines.push(s);
    process.stdout.write(`${s}\n`);
  };
  return { lines, say };
}
