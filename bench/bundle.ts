import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { HTTP_FUNCTIONS, OTHER_FUNCTIONS } from '../layers/http/route.ts';
import { present } from '../layers/present.ts';

export const FUNCTIONS = [...OTHER_FUNCTIONS, ...HTTP_FUNCTIONS];

const SDK = /node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//;

/** Bundles a function with the options the CDK app uses (infra/cdk/gateway-function.ts). */
export async function bundle(entry: string, outDir: string) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${entry.replace(/\W/g, '_')}.mjs`);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  const meta = result.metafile as Metafile;
  const output = present(Object.values(meta.outputs)[0], `esbuild's output for ${outfile}`);
  let sdkBytes = 0;
  for (const [file, input] of Object.entries(output.inputs))
    if (SDK.test(file)) sdkBytes += input.bytesInOutput;
  return { outfile, bytes: output.bytes, sdkBytes };
}
