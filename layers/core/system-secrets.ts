import type { KeyService, SecretStore } from '../ports/index.ts';
import { CiphertextRefusedError } from './errors.ts';

type SystemSecretName = 'api-key-pepper' | 'recipient-pseudonym';

/**
 * Returns one of the gateway's own secrets (the API key pepper, the recipient pseudonym key), creating it on first use. It is stored only wrapped by
 * the gateway's KMS key; the first function to start generates it and a conditional write
 * makes every other one adopt the same value, so no deploy step or custom resource is needed.
 */
export async function loadSystemSecret(
  deps: { keys: KeyService; secrets: SecretStore; keyId: string },
  name: SystemSecretName = 'api-key-pepper',
) {
  const context = { purpose: name };
  let wrapped = await deps.secrets.getWrapped(name);
  if (!wrapped) {
    const fresh = await deps.keys.generateDataKey(deps.keyId, context);
    wrapped = await deps.secrets.putWrappedIfAbsent(name, fresh.ciphertext);
  }
  return deps.keys.decrypt(wrapped, context);
}

/**
 * A system secret in a region other than the one whose key made it (the EU region): read from
 * this region's copy, wrapped under this region's system key, so that serving a request needs no
 * call to the other region. The tenants table is a global table, so the source region's wrapped
 * secret is here too; only the first call in this region (ever, or after this region's key was
 * replaced) unwraps it with the source region's key and stores this region's copy. The value is
 * the source's: API key hashes and recipient pseudonyms match in both regions. A secret the global
 * region has not made yet is made here under the global key, in this replica: only its first use
 * in both regions within the replication lag could disagree (the pepper is made in the global
 * region with the first API key; the pseudonym key could be, on a new gateway's first seconds).
 */
export async function loadRegionalSystemSecret(
  deps: {
    keys: KeyService;
    secrets: SecretStore;
    keyId: string;
    /** Where the secret is made: the global region's KMS and system key. */
    source: { keys: KeyService; keyId: string };
    region: string;
  },
  name: SystemSecretName,
) {
  const copy = `${name}@${deps.region}`;
  const context = { purpose: name, region: deps.region };
  const wrapped = await deps.secrets.getWrapped(copy);
  if (wrapped) {
    try {
      return await deps.keys.decrypt(wrapped, context);
    } catch (error) {
      // This region's key is gone (a replaced stack): make the copy again from the source.
      if (!(error instanceof CiphertextRefusedError)) throw error;
    }
  }
  const value = await loadSystemSecret({ ...deps.source, secrets: deps.secrets }, name);
  await deps.secrets.put(copy, await deps.keys.encrypt(deps.keyId, value, context));
  return value;
}

/** The API key pepper: HMAC key of every stored key hash. */
export const loadPepper = (deps: { keys: KeyService; secrets: SecretStore; keyId: string }) =>
  loadSystemSecret(deps, 'api-key-pepper');

/** Memoises an async loader for the life of the process (one KMS call per cold start). */
export function memo<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= load().catch((error: unknown) => {
      value = undefined;
      throw error;
    });
    return value;
  };
}
