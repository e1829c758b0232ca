import { createHmac } from 'node:crypto';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
} from '@aws-crypto/client-node';
import { KMS, KMSClient } from '@aws-sdk/client-kms';
import { LOCAL_CREDENTIALS, startKms } from '../infra/local/services.ts';
import { KmsKeyService } from '../layers/adapters/kms-key-service.ts';
import { DEFAULT_LIMITS, encryptionContext, TenantCrypto } from '../layers/core/crypto.ts';
import type { MessageRecord } from '../layers/core/model.ts';
import { FakeKeyringStore, FakeMessageStore } from '../test/support/fakes.ts';

/** What the message store seals per message: recipient and reference, then the body (two items). */
export type Sealer = (m: MessageRecord) => Promise<number>;

export interface EncryptionBench {
  kmsCalls: () => Record<string, number>;
  resetCalls: () => void;
  aesGcm: () => Sealer;
  sdk: (tenants: number) => Promise<Sealer>;
  stop: () => Promise<void>;
}

/**
 * The two envelope-encryption designs of issue 3, against the KMS stand-in (so KMS calls are
 * real requests and can be counted): our AES-256-GCM under a cached data key (TenantCrypto, as
 * the stores use it) and the AWS Encryption SDK with a KMS keyring and a caching materials
 * manager bounded the same way (5 minutes, 1,000,000 uses), committing suite without signature.
 * Each returns the ciphertext bytes it produced.
 */
export async function encryptionBench(): Promise<EncryptionBench> {
  const kms = await startKms({ port: 0, region: 'us-east-1' });
  const client = new KMSClient({
    region: 'us-east-1',
    endpoint: kms.endpoint,
    credentials: LOCAL_CREDENTIALS,
  });
  const keys = new KmsKeyService(client);
  const kmsEndpoint = kms.endpoint;
  const clock = { now: () => new Date() };

  const aesGcm = (): Sealer => {
    const crypto = new TenantCrypto('global', { keys, keyrings: new FakeKeyringStore(), clock });
    return async (m) => {
      const secret = JSON.stringify(
        m.reference === undefined ? { to: m.to } : { to: m.to, reference: m.reference },
      );
      const [a, b] = await Promise.all([
        crypto.seal(m.tenantId, 'message', m.id, secret),
        crypto.seal(m.tenantId, 'message', `BODY#${m.id}`, m.body ?? ''),
        crypto.pseudonym(m.tenantId, m.to),
      ]);
      return a.dataKey.length + b.dataKey.length + a.blob.length + b.blob.length;
    };
  };

  const sdk = async (tenants: number): Promise<Sealer> => {
    const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    // The Encryption SDK wants the aggregated client (methods per operation).
    const sdkClient = new KMS({ region: 'us-east-1', endpoint: kmsEndpoint, credentials: LOCAL_CREDENTIALS });
    const cache = getLocalCryptographicMaterialsCache(Math.max(100, tenants * 2));
    /** Per tenant: its materials manager and its pseudonym secret. */
    const tenantMaterials = new Map<string, { cmm: NodeCachingMaterialsManager; secret: Buffer }>();
    const materialsFor = async (tenantId: string) => {
      let materials = tenantMaterials.get(tenantId);
      if (!materials) {
        const keyId = await keys.createTenantKey(tenantId, 'global');
        const secret = await keys.generateDataKey(keyId, encryptionContext(tenantId, 'global', 'pseudonym'));
        materials = {
          cmm: new NodeCachingMaterialsManager({
            backingMaterials: new KmsKeyringNode({ generatorKeyId: keyId, clientProvider: () => sdkClient }),
            cache,
            partition: tenantId,
            maxAge: DEFAULT_LIMITS.maxAgeMs,
            maxMessagesEncrypted: DEFAULT_LIMITS.maxUses,
          }),
          secret: Buffer.from(secret.plaintext),
        };
        tenantMaterials.set(tenantId, materials);
      }
      return materials;
    };
    const suiteId = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
    return async (m) => {
      const { cmm, secret } = await materialsFor(m.tenantId);
      const context = encryptionContext(m.tenantId, 'global', 'message');
      const fields = JSON.stringify({ to: m.to, reference: m.reference });
      const body = m.body ?? '';
      const [a, b] = await Promise.all([
        encrypt(cmm, fields, {
          encryptionContext: context,
          suiteId,
          plaintextLength: Buffer.byteLength(fields),
        }),
        encrypt(cmm, body, { encryptionContext: context, suiteId, plaintextLength: Buffer.byteLength(body) }),
      ]);
      createHmac('sha256', secret).update(m.to).digest('base64url');
      return a.result.length + b.result.length;
    };
  };

  return {
    kmsCalls: () => ({ ...kms.calls }),
    resetCalls: () => {
      for (const k of Object.keys(kms.calls)) delete kms.calls[k];
    },
    aesGcm,
    sdk,
    stop: async () => {
      client.destroy();
      await kms.stop();
    },
  };
}

/** A message store fake that seals each message the way the DynamoDB store does before keeping it. */
export class SealingMessageStore extends FakeMessageStore {
  constructor(private readonly seal: Sealer) {
    super();
  }

  override async create(messages: MessageRecord[], options?: { mayExist?: boolean }) {
    await Promise.all(messages.map((m) => this.seal(m)));
    await super.create(messages, options);
  }
}
