/** What a function does with tenant keys: unwrap only, wrap and create, or also shred (closure). */
export type TenantKeyAccess = 'read' | 'write' | 'admin';

/** An IAM policy statement as JSON. */
export interface Statement {
  Effect: 'Allow';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * The IAM statements that let a function use tenant keys, as plain policy JSON (the CDK stack
 * adds them to the role; the local IAM tests evaluate the very same statements).
 *
 * Why not `kms:ResourceAliases`: alias and tag changes can take up to five minutes to affect
 * KMS authorization (KMS developer guide, "Use aliases to control access to KMS keys"), and a
 * tenant key is used seconds after its alias is created (onboarding, a tenant's first message in
 * a jurisdiction). The encryption context is part of each request and takes effect at once; the
 * key's own policy ties it to its one tenant (`kms:EncryptionContext:tenant`), so a role may use
 * a key only for the tenant the key belongs to. Keys are limited to the gateway's two regions.
 */
export function tenantKeyStatements(
  account: string,
  regions: readonly string[],
  access: TenantKeyAccess,
  /**
   * The tenants whose context the role may use: any (`ten_*`), or a tenant-access role's one
   * tenant, the session tag it was assumed with (`${aws:PrincipalTag/tenant}`).
   */
  tenant = 'ten_*',
): Statement[] {
  const keys = regions.map((r) => `arn:aws:kms:${r}:${account}:key/*`);
  // A tenant-access session names only its own tenant's aliases (`alias/sms-gateway/tenant/<id>/<j>`),
  // so it cannot take another tenant's alias before that tenant's first key in a jurisdiction.
  const aliasOf = tenant === 'ten_*' ? '*' : `${tenant}/*`;
  const aliases = regions.map((r) => `arn:aws:kms:${r}:${account}:alias/sms-gateway/tenant/${aliasOf}`);
  const tenantContext = { StringLike: { 'kms:EncryptionContext:tenant': tenant } };
  if (access === 'read') {
    // Readers only unwrap data keys; they never create keys or wrap new data.
    return [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: keys, Condition: tenantContext }];
  }
  const statements: Statement[] = [
    {
      // The tenant tag is required on every key a function creates (and tagging at creation
      // needs kms:TagResource too). The key policy is set at creation with the lockout check
      // bypassed on purpose: the account administers tenant keys, the functions never may.
      Effect: 'Allow',
      Action: ['kms:CreateKey', 'kms:TagResource'],
      Resource: '*',
      Condition: {
        StringLike: { 'aws:RequestTag/sms-gateway:tenant': tenant },
        StringEquals: { 'aws:RequestedRegion': [...regions] },
      },
    },
    { Effect: 'Allow', Action: 'kms:CreateAlias', Resource: [...aliases, ...keys] },
    { Effect: 'Allow', Action: 'kms:DescribeKey', Resource: keys },
    {
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: keys,
      Condition: tenantContext,
    },
  ];
  if (access === 'admin') {
    // Closing an account crypto-shreds its keys; no other function may schedule a deletion.
    statements.push({
      Effect: 'Allow',
      Action: 'kms:ScheduleKeyDeletion',
      Resource: keys,
      Condition: { StringLike: { 'aws:ResourceTag/sms-gateway:tenant': 'ten_*' } },
    });
  }
  return statements;
}
