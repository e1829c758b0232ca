import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedAssembly } from '../../infra/local/assembly.ts';
import { type RunningGateway, startGateway } from '../../infra/local/gateway.ts';
import type { CfnTemplate } from '../../infra/local/template.ts';
import { localClients, uniqueName } from '../support/aws.ts';

const { services } = localClients();

/** A copy of the synthesized assembly whose templates can be edited (the bundles are linked, not copied). */
function copyAssembly(from: string): string {
  const to = mkdtempSync(join(tmpdir(), 'assembly-'));
  for (const name of readdirSync(from)) {
    if (name.startsWith('asset.')) symlinkSync(join(from, name), join(to, name));
    else copyFileSync(join(from, name), join(to, name));
  }
  return to;
}

/** The authorizer function of the global region's stateless template. */
function authorizerOf(template: CfnTemplate) {
  const found = Object.entries(template.Resources).find(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' &&
      String(r.Metadata?.['aws:cdk:path'] ?? '')
        .split('/')
        .includes('authorize'),
  );
  expect(found, 'the template has the authorizer function').toBeDefined();
  return found![1];
}

const WHAT_LAMBDA_SETS = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_LOG_FORMAT',
  '_HANDLER',
  'TZ',
];
const LOCAL_EMULATION = [
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL_KMS',
  'AWS_ENDPOINT_URL_STS',
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
];

let assembly: string;
const templateFile = () => join(assembly, 'SmsGateway-Global-Stateless.template.json');
const readTemplate = () => JSON.parse(readFileSync(templateFile(), 'utf8')) as CfnTemplate;

beforeAll(async () => {
  assembly = copyAssembly(await cachedAssembly({ region: 'us-east-1', euRegion: 'eu-central-1' }));
});

afterAll(() => {
  rmSync(assembly, { recursive: true, force: true });
});

describe('the local runtime runs the templates', () => {
  let gateway: RunningGateway | undefined;
  afterAll(async () => {
    await gateway?.stop();
  });

  it("gives a function exactly its template's settings, what Lambda sets and the local emulation", async () => {
    gateway = await startGateway({
      port: 0,
      services: { kind: 'external', ...services },
      prefix: uniqueName('tpl'),
      assembly,
    });
    const declared = Object.keys(
      (authorizerOf(readTemplate()).Properties as { Environment: { Variables: Record<string, unknown> } })
        .Environment.Variables,
    );
    const authorizer = [...gateway.functions.values()].find(
      (f) => f.jurisdiction === 'global' && f.path.split('/').includes('authorize'),
    )!;
    const seen = Object.keys(await authorizer.fn.environment());
    // Node adds nothing to a worker's env object; anything beyond these lists is a leak from the host.
    expect(seen.sort()).toEqual(
      [
        ...new Set([...declared, ...WHAT_LAMBDA_SETS, ...LOCAL_EMULATION, 'POWERTOOLS_METRICS_DISABLED']),
      ].sort(),
    );
    // A local-only setting reaches only a function that declares it (the sandbox carrier's ledger: dispatch).
    expect(seen).not.toContain('SANDBOX_LEDGER_TABLE');
    const dispatch = [...gateway.functions.values()].find(
      (f) => f.jurisdiction === 'global' && f.path.split('/').includes('dispatch-messages'),
    )!;
    expect(Object.keys(await dispatch.fn.environment())).toContain('SANDBOX_LEDGER_TABLE');
    const env = await authorizer.fn.environment();
    expect(env.AWS_ACCESS_KEY_ID, 'credentials that name the role, not the host').not.toBe(
      process.env.AWS_ACCESS_KEY_ID,
    );
    await gateway.stop();
    gateway = undefined;
  });

  it('follows an edited template: a function missing a required setting fails like a bad deploy', async () => {
    const template = readTemplate();
    const authorize = authorizerOf(template);
    (authorize.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables =
      {};
    writeFileSync(templateFile(), JSON.stringify(template));
    gateway = await startGateway({
      port: 0,
      services: { kind: 'external', ...services },
      prefix: uniqueName('tpl'),
      assembly,
    });
    const res = await fetch(`${gateway.url}/v1/messages`, {
      headers: { authorization: 'Bearer sk_test_not_checked_the_authorizer_cannot_start' },
    });
    // API Gateway answers an authorizer that fails with a bare 500.
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    // The public document needs no authorizer: the rest of the API still runs.
    expect((await fetch(`${gateway.url}/openapi.json`)).status).toBe(200);
  });
});
