import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import type { Jurisdiction } from '../core/model.ts';
import type { KeyService } from '../ports/index.ts';

export const tenantKeyAlias = (tenantId: string, jurisdiction: Jurisdiction) =>
  `alias/sms-gateway/tenant/${tenantId}/${jurisdiction}`;

/** The principal tag that marks the gateway's own roles (set on them by the CDK app). */
export const KEY_USER_TAG = { key: 'sms-gateway-role', value: 'tenant-key-user' } as const;

/**
 * A tenant key's policy. The account may administer the key (IAM decides who) but not use it;
 * using it needs a role tagged as one of the gateway's AND the tenant's own encryption
 * context, so no role can make it decrypt another tenant's data.
 */
export function tenantKeyPolicy(accountId: string, tenantId: string, jurisdiction: Jurisdiction) {
  const root = { AWS: `arn:aws:iam::${accountId}:root` };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AdministerNotUse',
        Effect: 'Allow',
        Principal: root,
        Action: [
          'kms:Describe*',
          'kms:Get*',
          'kms:List*',
          'kms:PutKeyPolicy',
          'kms:CreateAlias',
          'kms:UpdateAlias',
          'kms:DeleteAlias',
          'kms:TagResource',
          'kms:UntagResource',
          'kms:EnableKeyRotation',
          'kms:ScheduleKeyDeletion',
          'kms:CancelKeyDeletion',
        ],
        Resource: '*',
      },
      {
        Sid: 'GatewayUseWithTenantContextOnly',
        Effect: 'Allow',
        Principal: root,
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: '*',
        Condition: {
          StringEquals: {
            [`aws:PrincipalTag/${KEY_USER_TAG.key}`]: KEY_USER_TAG.value,
            'kms:EncryptionContext:tenant': tenantId,
            'kms:EncryptionContext:jurisdiction': jurisdiction,
          },
        },
      },
    ],
  };
}

export class KmsKeyService implements KeyService {
  constructor(
    private readonly client: KMSClient,
    private readonly accountId = '000000000000',
  ) {}

  async createTenantKey(tenantId: string, jurisdiction: Jurisdiction): Promise<string> {
    const alias = tenantKeyAlias(tenantId, jurisdiction);
    const created = await this.client.send(
      new CreateKeyCommand({
        Description: `sms-gateway tenant ${tenantId} (${jurisdiction})`,
        KeyUsage: 'ENCRYPT_DECRYPT',
        Policy: JSON.stringify(tenantKeyPolicy(this.accountId, tenantId, jurisdiction)),
        Tags: [
          { TagKey: 'sms-gateway:tenant', TagValue: tenantId },
          { TagKey: 'sms-gateway:jurisdiction', TagValue: jurisdiction },
        ],
      }),
    );
    const keyId = created.KeyMetadata!.Arn!;
    try {
      await this.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
      return keyId;
    } catch (error) {
      if ((error as Error).name !== 'AlreadyExistsException') throw error;
      // Another function created the tenant's key first: use that one, retire ours. Only the
      // admin role may schedule deletions; another leaves the unaliased (unusable) key behind.
      await this.scheduleKeyDeletion(keyId, 7).catch((e: unknown) => {
        if ((e as Error)?.name !== 'AccessDeniedException') throw e;
      });
      const existing = await this.client.send(new DescribeKeyCommand({ KeyId: alias }));
      return existing.KeyMetadata!.Arn!;
    }
  }

  async scheduleKeyDeletion(keyId: string, pendingDays: number): Promise<Date> {
    const out = await this.client.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingDays }),
    );
    return out.DeletionDate ?? new Date(Date.now() + pendingDays * 86_400_000);
  }

  async generateDataKey(keyId: string, context: Record<string, string>) {
    const out = await this.client.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS returned no data key');
    return { plaintext: out.Plaintext, ciphertext: out.CiphertextBlob };
  }

  async decrypt(ciphertext: Uint8Array, context: Record<string, string>) {
    const out = await this.client.send(
      new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context }),
    );
    if (!out.Plaintext) throw new Error('KMS returned no plaintext');
    return out.Plaintext;
  }
}
