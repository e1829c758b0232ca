import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/cdk/app.ts';
import { present } from '../../layers/present.ts';

/** The account the IAM tests put into the templates' ARNs. */
export const ACCOUNT = '123456789012';

/** Both regions' stateless templates, without bundling (the IAM rules read the templates only). */
export function statelessTemplates(stem: string) {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), `${stem}-`)),
    context: { euApiUrl: 'https://eu.sms.example', 'aws:cdk:bundling-stacks': [] },
  });
  const built = buildApp(app);
  return { global: Template.fromStack(built.global.stateless), eu: Template.fromStack(built.eu.stateless) };
}

export type TemplateResource = { Type: string; Properties: Record<string, unknown> };
export const resources = (t: Template) =>
  Object.entries(t.toJSON().Resources as Record<string, TemplateResource>);

/** Every statement of the policies attached to a role (by its logical id). */
export const policyOf = <S>(t: Template, roleId: string): S[] =>
  resources(t)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId),
    )
    .flatMap(([, r]) => (r.Properties.PolicyDocument as { Statement: S[] }).Statement);

/** A function's execution role and, when it is tenant-scoped, its tenant-access role (logical ids). */
export const roleIds = (t: Template, name: string) => {
  const ids = resources(t)
    .filter(([id, r]) => r.Type === 'AWS::IAM::Role' && id.startsWith(name.replace(/-/g, '')))
    .map(([id]) => id);
  return {
    execution: present(
      ids.find((id) => id.includes('ServiceRole')),
      `${name}'s execution role`,
    ),
    tenant: ids.find((id) => id.includes('TenantAccess')),
  };
};
