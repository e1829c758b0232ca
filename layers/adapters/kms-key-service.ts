import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { CiphertextRefusedError } from '../core/errors.ts';
import type { Jurisdiction } from '../core/model.ts';
import type { KeyService } from '../ports/index.ts';
import { present } from '../present.ts';

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

/**
 * KMS's answers to Decrypt that asking again will not change: the ciphertext is not one of
 * its own or is corrupted, or its encryption context differs (InvalidCiphertextException); it
 * names another key (IncorrectKeyException); the key policy refuses this context, as it does
 * for another tenant's data key (AccessDeniedException); the key is pending deletion, disabled
 * or gone; or the blob is not even a well-formed ciphertext (ValidationException).
 */
const REFUSED = new Set([
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'AccessDeniedException',
  'KMSInvalidStateException',
  'DisabledException',
  'NotFoundException',
  'ValidationException',
]);

export class KmsKeyService implements KeyService {
  constructor(
    private readonly client: KMSClient,
    private readonly accountId = '000000000000',
  ) {}

  async createTenantKey(tenantId: string, jurisdiction: Jurisdiction): Promise<string> {
    const alias = tenantKeyAlias(tenantId, jurisdiction);
    // A key made by another instance (or an earlier try whose keyring write failed) is reused:
    // retries must not make more keys.
    const existing = await this.describe(alias);
    if (existing) return existing;
    const created = await this.client.send(
      new CreateKeyCommand({
        Description: `sms-gateway tenant ${tenantId} (${jurisdiction})`,
        KeyUsage: 'ENCRYPT_DECRYPT',
        Policy: JSON.stringify(tenantKeyPolicy(this.accountId, tenantId, jurisdiction)),
        // KMS's lockout check demands that the policy let the caller change it later. That is
        // exactly what this policy withholds on purpose: the account's administrators (IAM)
        // manage tenant keys, the gateway's function roles never may, so the key stays
        // manageable (KMS API reference, CreateKey: use the bypass "only when you intend to
        // prevent the principal that is making the request from making a subsequent
        // PutKeyPolicy request").
        BypassPolicyLockoutSafetyCheck: true,
        Tags: [
          { TagKey: 'sms-gateway:tenant', TagValue: tenantId },
          { TagKey: 'sms-gateway:jurisdiction', TagValue: jurisdiction },
        ],
      }),
    );
    const keyId = present(created.KeyMetadata?.Arn, "KMS CreateKey's KeyMetadata.Arn");
    try {
      await this.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
      return keyId;
    } catch (error) {
      if ((error as Error).name !== 'AlreadyExistsException') throw error;
      // Another instance created the tenant's key in the same instant: use that one. Ours never
      // had an alias and wrapped nothing; only the account closer may schedule deletions, so it
      // is left for the operator: a key tagged with the tenant and without an alias (README).
      const winner = await this.describe(alias);
      if (!winner) throw error;
      return winner;
    }
  }

  private async describe(alias: string): Promise<string | undefined> {
    try {
      return (await this.client.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.Arn;
    } catch (error) {
      if ((error as Error).name === 'NotFoundException') return undefined;
      throw error;
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

  async encrypt(keyId: string, plaintext: Uint8Array, context: Record<string, string>) {
    const out = await this.client.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }),
    );
    if (!out.CiphertextBlob) throw new Error('KMS returned no ciphertext');
    return out.CiphertextBlob;
  }

  async decrypt(ciphertext: Uint8Array, context: Record<string, string>) {
    const out = await this.client
      .send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context }))
      .catch((error: unknown) => {
        const name = (error as Error | null)?.name ?? '';
        if (REFUSED.has(name))
          throw new CiphertextRefusedError(`KMS refused the data key: ${name}`, { cause: error });
        throw error;
      });
    if (!out.Plaintext) throw new Error('KMS returned no plaintext');
    return out.Plaintext;
  }
}
