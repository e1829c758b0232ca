import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { BUNDLING, REPO_ROOT } from '../../infra/cdk/gateway-function.ts';

describe('the Lambda bundles', () => {
  it('keep class names: a minified error still logs as NotFoundError, not as a mangled name', async () => {
    // The same esbuild options CDK passes for every function (NodejsFunction's bundling maps them
    // one to one onto esbuild's), applied to the gateway's error classes.
    const outfile = join(mkdtempSync(join(tmpdir(), 'bundle-')), 'errors.mjs');
    await build({
      stdin: {
        contents: "export { NotFoundError, ValidationError } from './layers/core/errors.ts';",
        resolveDir: REPO_ROOT,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      outfile,
      logLevel: 'silent',
      target: BUNDLING.target,
      format: BUNDLING.format === OutputFormat.ESM ? 'esm' : 'cjs',
      minify: BUNDLING.minify,
      keepNames: BUNDLING.keepNames,
      mainFields: BUNDLING.mainFields,
      banner: { js: BUNDLING.banner },
    });
    const { NotFoundError, ValidationError } = (await import(
      pathToFileURL(outfile).href
    )) as typeof import('../../layers/core/errors.ts');
    expect(new NotFoundError('message', 'msg_1').name).toBe('NotFoundError');
    expect(new ValidationError([]).name).toBe('ValidationError');
  });
});
