import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FUNCTIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'functions');

/**
 * The capability folders of `functions/` (a feature slice each: its handlers, their declarations,
 * its use cases, schemas and routes).
 */
export function capabilities(): string[] {
  return readdirSync(FUNCTIONS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Every function's name: a handler `functions/<capability>/<name>.ts` beside its `<name>.def.ts`. */
export function functionNames(): string[] {
  return capabilities()
    .flatMap((c) => readdirSync(join(FUNCTIONS_DIR, c)).filter((f) => f.endsWith('.def.ts')))
    .map((f) => f.slice(0, -'.def.ts'.length))
    .sort();
}

/**
 * The absolute path of a function's handler (`.ts`) or declaration (`.def.ts`), in whichever
 * capability folder holds it.
 */
export function functionFile(name: string, suffix: '.ts' | '.def.ts' = '.ts'): string {
  for (const c of capabilities()) {
    const path = join(FUNCTIONS_DIR, c, `${name}${suffix}`);
    if (existsSync(path) && existsSync(join(FUNCTIONS_DIR, c, `${name}.def.ts`))) return path;
  }
  throw new Error(`no function ${name} in any capability folder of functions/`);
}
