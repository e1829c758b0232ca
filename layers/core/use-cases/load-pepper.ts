import type { KeyService, SecretStore } from '../../ports/index.ts';

/**
 * Returns one of the gateway's own secrets (the API key pepper, the recipient pseudonym key), creating it on first use. It is stored only wrapped by
 * the gateway's KMS key; the first function to start generates it and a conditional write
 * makes every other one adopt the same value, so no deploy step or custom resource is needed.
 */
export async function loadSystemSecret(
  deps: { keys: KeyService; secrets: SecretStore; keyId: string },
  name: 'api-key-pepper' | 'recipient-pseudonym' = 'api-key-pepper',
) {
  const context = { purpose: name };
  let wrapped = await deps.secrets.getWrapped(name);
  if (!wrapped) {
    const fresh = await deps.keys.generateDataKey(deps.keyId, context);
    wrapped = await deps.secrets.putWrappedIfAbsent(name, fresh.ciphertext);
  }
  return deps.keys.decrypt(wrapped, context);
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
