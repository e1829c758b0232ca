import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { KeyService } from '../ports/index.ts';

export class KmsKeyService implements KeyService {
  constructor(private readonly client: KMSClient) {}

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
