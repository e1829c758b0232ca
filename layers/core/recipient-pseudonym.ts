import { createHmac } from 'node:crypto';

/**
 * The gateway-wide pseudonym of a phone number: the same for every tenant, so the block list,
 * reply routing and "who sent me this?" can find a person across tenants without storing the
 * number. Keyed by a system secret that exists only wrapped by the gateway's KMS key.
 * (Per-tenant pseudonyms, in crypto.ts, stay unlinkable across tenants.)
 */
export class RecipientPseudonyms {
  constructor(private readonly key: () => Promise<Uint8Array>) {}

  async of(e164: string): Promise<string> {
    return this.keyedDigest('recipient', e164);
  }

  /**
   * A keyed digest under the same system secret, separated by `label`, of a value the gateway
   * must recognise but never keep (a one-time code): a plain hash of six digits is found by guessing.
   */
  async keyedDigest(label: string, value: string): Promise<string> {
    return createHmac('sha256', await this.key())
      .update(`${label}\0${value}`)
      .digest('base64url');
  }
}
