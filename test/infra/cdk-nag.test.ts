import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { buildApp, checkWithNag } from '../../infra/cdk/app.ts';

/** The deployable variants: `cdk synth` with the sandbox carrier, and with End User Messaging. */
const VARIANTS: [string, Record<string, string>][] = [
  ['the sandbox carrier (default)', {}],
  [
    '-c carrier=eum',
    {
      carrier: 'eum',
      eumConfigurationSet: 'gw',
      gatewayOrigination: JSON.stringify({ default: 'Verify', US: '+12025550100', CA: '+14165550100' }),
    },
  ],
];

/** Synthesizes both jurisdictions' stacks under cdk-nag's AwsSolutions and Serverless packs. */
function synthWithNag(
  change?: (built: ReturnType<typeof buildApp>) => void,
  context: Record<string, string> = {},
) {
  const outdir = mkdtempSync(join(tmpdir(), 'nag-'));
  // No bundling: the rules read the templates, and the esbuild runs would only load the machine.
  const app = new App({
    outdir,
    context: { euApiUrl: 'https://eu.sms.example', ...context, 'aws:cdk:bundling-stacks': [] },
  });
  const built = buildApp(app);
  change?.(built);
  checkWithNag(app);
  try {
    app.synth();
    return { ok: true as const };
  } catch {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string }[] }[];
    };
    return {
      ok: false as const,
      rules: report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName)),
    };
  }
}

describe('cdk-nag (AwsSolutions and Serverless packs)', () => {
  it.each(VARIANTS)(
    'finds nothing unacknowledged in the four stacks with %s, and every acknowledgement gives a reason',
    (_, context) => {
      expect(synthWithNag(undefined, context)).toEqual({ ok: true });
      const app = new App({
        outdir: mkdtempSync(join(tmpdir(), 'nag-')),
        context: { euApiUrl: 'https://eu.sms.example', ...context, 'aws:cdk:bundling-stacks': [] },
      });
      const built = buildApp(app);
      const acknowledged = [
        built.global.stateless,
        built.global.stateful,
        built.eu.stateless,
        built.eu.stateful,
      ]
        .flatMap((stack) => stack.node.findAll())
        .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
        .flatMap((m) => Object.values(m.data as Record<string, string>));
      expect(acknowledged.length).toBeGreaterThan(10);
      for (const reason of acknowledged) expect(reason.length, reason).toBeGreaterThan(30);
    },
    240_000,
  );

  it('fails the synthesis on a new wildcard permission', () => {
    const result = synthWithNag((built) => {
      const fn = built.global.stateless.node
        .findAll()
        .find((c) => c.node.path.endsWith('/get-message/Function'));
      (fn as unknown as { addToRolePolicy(s: PolicyStatement): void }).addToRolePolicy(
        new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::some-bucket/*'] }),
      );
    });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.rules).toContain(
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::some-bucket/*]',
    );
  }, 240_000);
});
