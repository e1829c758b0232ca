import { afterAll, expect } from 'vitest';

/**
 * Privacy invariant 6 as a test: everything a test file's gateway, workers and handlers write to
 * the console or stdout/stderr is kept, and after the file it must contain no phone number, no
 * message body and no API key that the file's requests sent or received (see `remember` in
 * http.ts). Runs for every test file.
 */
const written: string[] = [];
const sensitive = new Map<string, string>();

/** Marks a value that must never be logged, with what it is (for the failure message). */
export function rememberSensitive(value: unknown, what: string) {
  if (typeof value !== 'string') return;
  // Short bodies ("hi", "x") occur in ordinary words; numbers and keys are always long enough.
  if (what === 'message body' && value.trim().length < 12) return;
  sensitive.set(value, what);
}

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    written.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    written.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    original(...args);
  };
}

afterAll(() => {
  const text = written.join('\n');
  for (const [value, what] of sensitive) {
    expect(text.includes(value), `the logs contain a ${what}`).toBe(false);
  }
  expect(text, 'the logs contain an API key').not.toMatch(/sk_(live|test)_[A-Za-z0-9]{20,}/);
});
