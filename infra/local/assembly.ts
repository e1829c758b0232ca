import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** Where synthesized cloud assemblies are kept, one folder per hash of what produced them. */
export const ASSEMBLY_CACHE = join(REPO_ROOT, '.cache', 'cdk-assembly');

/**
 * The custom-domain context the local synth passes (`globalApiUrl`, `euApiUrl`): the functions
 * then carry their API URLs the way a deployment with custom domains does, and the local runtime
 * substitutes each placeholder with the local API's address.
 */
export const LOCAL_API_URL_PLACEHOLDERS = {
  global: 'https://global-api.local.invalid',
  eu: 'https://eu-api.local.invalid',
} as const;

export interface SynthContext {
  region: string;
  euRegion: string;
}

const INPUTS = ['infra', 'functions', 'layers', 'package-lock.json', 'cdk.json'];

function hashInputs(context: Record<string, unknown>): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) walk(join(path, name));
      return;
    }
    hash.update(relative(REPO_ROOT, path));
    hash.update('\0');
    hash.update(readFileSync(path));
    hash.update('\0');
  };
  for (const input of INPUTS) {
    const path = join(REPO_ROOT, input);
    if (existsSync(path)) walk(path);
  }
  hash.update(JSON.stringify(context));
  hash.update(process.env.CDK_DEFAULT_ACCOUNT ?? '');
  return hash.digest('hex').slice(0, 20);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process still runs (signal 0 only checks). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The cloud assembly of the CDK app (`infra/cdk/app.ts`) for these regions, synthesized once and
 * reused while infra/, functions/, layers/, package-lock.json, cdk.json and the context are
 * unchanged. Synthesis (esbuild bundles every function, about half a minute) goes into a
 * temporary folder renamed into place at the end, under a lock file, so parallel test workers
 * and `npm start` never read a half-written assembly: one synthesizes, the others wait for it.
 * cdk-nag is not run here (test/cdk covers it).
 */
export async function cachedAssembly(
  context: SynthContext,
  log: (line: string) => void = () => undefined,
): Promise<string> {
  const fullContext = {
    region: context.region,
    euRegion: context.euRegion,
    globalApiUrl: LOCAL_API_URL_PLACEHOLDERS.global,
    euApiUrl: LOCAL_API_URL_PLACEHOLDERS.eu,
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
  };
  const dir = join(ASSEMBLY_CACHE, hashInputs(fullContext));
  const done = join(dir, 'manifest.json');
  const lock = `${dir}.lock`;
  mkdirSync(ASSEMBLY_CACHE, { recursive: true });
  for (;;) {
    if (existsSync(done)) return dir;
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx');
    } catch {
      // Someone else synthesizes; take over only if it died.
      const holder = Number(readFileSync(lock, 'utf8').trim() || '0');
      if (holder && !alive(holder)) rmSync(lock, { force: true });
      else await sleep(500);
      continue;
    }
    try {
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      if (existsSync(done)) return dir;
      log(
        'synthesizing the CDK app for the local runtime (once per change of infra/, functions/, layers/) ...',
      );
      const tmp = `${dir}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      await synthesize(tmp, fullContext);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      pruneOld(dir);
      return dir;
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

async function synthesize(outdir: string, context: Record<string, unknown>) {
  const [{ App }, { buildApp }] = await Promise.all([import('aws-cdk-lib'), import('../cdk/app.ts')]);
  const { app } = buildApp(new App({ outdir, context }));
  app.synth();
}

/** Keeps the newest few assemblies (each is about 100 MB of bundles and source maps). */
function pruneOld(keep: string, max = 3) {
  const entries = readdirSync(ASSEMBLY_CACHE)
    .filter((n) => !n.includes('.'))
    .map((n) => join(ASSEMBLY_CACHE, n))
    .filter((p) => p !== keep && existsSync(join(p, 'manifest.json')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const old of entries.slice(max - 1)) rmSync(old, { recursive: true, force: true });
}
