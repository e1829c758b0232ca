import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { tenantKeyStatements } from '../../infra/cdk/tenant-key-grants.ts';
import { type AuthzRequest, authorizeKms, type PolicyDocument } from '../../infra/local/iam/policy.ts';
import { KEY_USER_TAG, KmsKeyService, tenantKeyPolicy } from '../../layers/adapters/kms-key-service.ts';

const ACCOUNT = '111122223333';
const REGIONS = ['us-east-1', 'eu-central-1'];
const TENANT = 'ten_01JD0000000000000000000000';
const KEY = `arn:aws:kms:eu-central-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const role = (name: string) => ({
  arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
  account: ACCOUNT,
  tags: { [KEY_USER_TAG.key]: KEY_USER_TAG.value },
});
const identity = (access: 'read' | 'write' | 'admin'): PolicyDocument[] => [
  { Version: '2012-10-17', Statement: tenantKeyStatements(ACCOUNT, REGIONS, access) },
];
const keyPolicy = tenantKeyPolicy(ACCOUNT, TENANT, 'eu') as PolicyDocument;
const use = (action: string, tenant = TENANT, context: AuthzRequest['context'] = {}): AuthzRequest => ({
  action,
  resource: KEY,
  principal: role('send-message'),
  context: {
    'kms:EncryptionContext:tenant': tenant,
    'kms:EncryptionContext:jurisdiction': 'eu',
    'kms:EncryptionContext:purpose': 'message',
    'aws:RequestedRegion': 'eu-central-1',
    ...context,
  },
});

describe('tenant keys are usable the moment they exist (defect 6)', () => {
  it('lets a writer wrap data under a key whose alias KMS does not yet see (alias changes take up to five minutes)', () => {
    // No kms:ResourceAliases in the context: the alias was created a second ago.
    expect(authorizeKms(keyPolicy, identity('write'), use('kms:GenerateDataKey'))).toBe('allow');
    expect(authorizeKms(keyPolicy, identity('read'), use('kms:Decrypt'))).toBe('allow');
  });

  it('was refused by the alias-conditioned grant the stack used before', () => {
    const before: PolicyDocument[] = [
      {
        Version: '2012-10-17',
        Statement: {
          Effect: 'Allow',
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
          Condition: { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/sms-gateway/tenant/*' } },
        },
      },
    ];
    expect(authorizeKms(keyPolicy, before, use('kms:GenerateDataKey'))).toBe('implicit-deny');
  });

  it("still ties a key to its one tenant: another tenant's context is refused by the key policy", () => {
    expect(
      authorizeKms(keyPolicy, identity('write'), use('kms:Decrypt', 'ten_01JD9999999999999999999999')),
    ).toBe('implicit-deny');
  });

  it('keeps keys to the two regions of the gateway', () => {
    const elsewhere = { ...use('kms:Decrypt'), resource: KEY.replace('eu-central-1', 'ap-south-1') };
    expect(authorizeKms(keyPolicy, identity('write'), elsewhere)).toBe('implicit-deny');
  });
});

describe('only account closure shreds keys (defect 13)', () => {
  const schedule = (access: 'read' | 'write' | 'admin') =>
    authorizeKms(keyPolicy, identity(access), {
      action: 'kms:ScheduleKeyDeletion',
      resource: KEY,
      principal: role(access),
      context: { 'aws:ResourceTag/sms-gateway:tenant': TENANT },
    });

  it('refuses ScheduleKeyDeletion to readers and writers and allows it to the admin role', () => {
    expect(schedule('read')).toBe('implicit-deny');
    expect(schedule('write')).toBe('implicit-deny');
    expect(schedule('admin')).toBe('allow');
  });
});

describe('key policy lockout check (defect 5)', () => {
  it('would refuse our key policy for a function role (it may not change the policy later: on purpose)', () => {
    const putPolicy = authorizeKms(keyPolicy, identity('write'), {
      action: 'kms:PutKeyPolicy',
      resource: KEY,
      principal: role('send-message'),
    });
    expect(putPolicy).toBe('implicit-deny');
  });

  it('so CreateKey bypasses the check deliberately, and reuses a key that already exists instead of making another', async () => {
    const kms = mockClient(KMSClient);
    kms
      .on(DescribeKeyCommand)
      .rejectsOnce(Object.assign(new Error('not found'), { name: 'NotFoundException' }));
    kms.on(CreateKeyCommand).resolves({ KeyMetadata: { KeyId: 'k', Arn: KEY } });
    kms.on(CreateAliasCommand).resolves({});
    const keys = new KmsKeyService(new KMSClient({ region: 'eu-central-1' }), ACCOUNT);

    await expect(keys.createTenantKey(TENANT, 'eu')).resolves.toBe(KEY);

    const create = kms.commandCalls(CreateKeyCommand)[0]!.args[0].input;
    expect(create.BypassPolicyLockoutSafetyCheck).toBe(true);
    expect(JSON.parse(create.Policy!)).toEqual(keyPolicy);
    expect(create.Tags).toContainEqual({ TagKey: 'sms-gateway:tenant', TagValue: TENANT });

    // A retry finds the key by its alias and creates nothing.
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k', Arn: KEY } });
    await expect(keys.createTenantKey(TENANT, 'eu')).resolves.toBe(KEY);
    expect(kms.commandCalls(CreateKeyCommand)).toHaveLength(1);
    kms.restore();
  });
});
