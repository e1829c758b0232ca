import type { KeyService, SecretStore } from '../../ports/index.ts';

const NAME = 'api-key-pepper';
const CONTEXT = { purpose: NAME };

/**
 * Returns the gateway's API key pepper, creating it on first use. It is stored only wrapped by
 * the gateway's KMS key; the first function to start generates it and a conditional write
 * makes every other one adopt the same value, so no deploy step or custom resource is needed.
 */
export async function loadPepper(deps: { keys: KeyService; secrets: SecretStore; keyId: string }) {
  let wrapped = await deps.secrets.getWrapped(NAME);
  if (!wrapped) {
    const fresh = await deps.keys.generateDataKey(deps.keyId, CONTEXT);
    wrapped = await deps.secrets.putWrappedIfAbsent(NAME, fresh.ciphertext);
  }
  return deps.keys.decrypt(wrapped, CONTEXT);
}

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
