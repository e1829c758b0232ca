import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Clock, KeyringStore, KeyService } from '../ports/index.ts';
import { CiphertextRefusedError, UnauthorizedError, UnreadableError } from './errors.ts';
import type { Jurisdiction, Sealed } from './model.ts';

/** What a data key protects; part of the KMS encryption context and of every field's AAD. */
export type Purpose = 'message' | 'idempotency' | 'pseudonym' | 'recipient' | 'sender-id' | 'webhook';

export interface DataKeyLimits {
  /** A cached data key is used for at most this long... */
  maxAgeMs: number;
  /** ...and for at most this many field encryptions (far below AES-GCM's 2^32 random-IV bound). */
  maxUses: number;
  /** Decrypted data keys kept for reads, oldest dropped first. */
  maxDecryptEntries: number;
}

export const DEFAULT_LIMITS: DataKeyLimits = {
  maxAgeMs: 5 * 60_000,
  maxUses: 1_000_000,
  maxDecryptEntries: 1_000,
};

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The KMS encryption context: tenant, jurisdiction and purpose, never personal data. */
export const encryptionContext = (tenantId: string, jurisdiction: Jurisdiction, purpose: Purpose) => ({
  tenant: tenantId,
  jurisdiction,
  purpose,
});

function aad(tenantId: string, jurisdiction: Jurisdiction, purpose: Purpose, itemId: string) {
  return Buffer.from(`sms-gateway/v1\0${tenantId}\0${jurisdiction}\0${purpose}\0${itemId}`);
}

interface TenantKey {
  keyId: string;
  pseudonymSecret: Buffer;
}

/** A tenant's key here: usable, never made (nothing was sealed for it here), or closed. */
type TenantKeyState = { state: 'open'; key: TenantKey } | { state: 'absent' } | { state: 'closed' };

interface CachedDataKey {
  plaintext: Buffer;
  ciphertext: Uint8Array;
  createdAt: number;
  uses: number;
}

/**
 * Envelope encryption under each tenant's own KMS key, one instance per jurisdiction (its KMS
 * region and its keyring table).
 *
 * Writes: a data key from KMS `GenerateDataKey` (context: tenant, jurisdiction, purpose) is
 * cached per tenant and purpose for a bounded time and number of uses; an item's content is
 * sealed in one AES-256-GCM operation under it with a fresh random 96-bit IV, and the tenant,
 * jurisdiction, purpose and item id as authenticated data, so a blob moved to another item or
 * tenant fails to open. The item stores the wrapped data key beside its blob.
 * Reads: the wrapped data key is unwrapped by KMS `Decrypt` with the same context (a wrong
 * tenant or purpose is refused by KMS) and cached by its ciphertext.
 *
 * The tenant's key and its pseudonym secret (an HMAC key for look-up pseudonyms of phone
 * numbers, stored only wrapped by the tenant key) are created on first use in a jurisdiction.
 * Scheduling the tenant key for deletion therefore makes every copy of its data unreadable and
 * its pseudonyms unlinkable, backups included.
 */
export class TenantCrypto {
  private readonly tenantKeys = new Map<
    string,
    { key: Promise<TenantKeyState>; at: number; creates: boolean }
  >();
  private readonly writeKeys = new Map<string, Promise<CachedDataKey>>();
  private readonly readKeys = new Map<string, { key: Promise<Buffer>; at: number }>();

  constructor(
    readonly jurisdiction: Jurisdiction,
    private readonly deps: {
      keys: KeyService;
      keyrings: KeyringStore;
      clock: Clock;
      limits?: DataKeyLimits;
    },
  ) {}

  private get limits() {
    return this.deps.limits ?? DEFAULT_LIMITS;
  }

  private now() {
    return this.deps.clock.now().getTime();
  }

  /**
   * The tenant's key in this jurisdiction, created with its pseudonym secret on first use when
   * `create`. One load per tenant is shared by concurrent callers; a caller that may create the
   * key never takes "no key" from a look-up that may not: it waits for that look-up and, if it
   * found nothing, loads again and creates. Only a closed keyring answers "closed".
   */
  private async tenantKey(tenantId: string, create: boolean): Promise<TenantKeyState> {
    // Cached for a bounded time, so a closed account's key stops being used everywhere soon.
    const cached = this.tenantKeys.get(tenantId);
    if (cached && this.now() - cached.at <= this.limits.maxAgeMs) {
      const state = await cached.key;
      if (state.state !== 'absent' || !create || cached.creates) return state;
      // That look-up could not create the key: take a turn that may (one for all such callers).
      return this.tenantKey(tenantId, true);
    }
    const entry = { key: this.loadTenantKey(tenantId, create), at: this.now(), creates: create };
    this.tenantKeys.set(tenantId, entry);
    // Only a usable key is kept: "absent" and "closed" are asked again, and a newer load is
    // never dropped for an older one's answer.
    const drop = () => {
      if (this.tenantKeys.get(tenantId) === entry) this.tenantKeys.delete(tenantId);
    };
    entry.key.then((state) => state.state === 'open' || drop(), drop);
    return entry.key;
  }

  private async loadTenantKey(tenantId: string, create: boolean): Promise<TenantKeyState> {
    const context = encryptionContext(tenantId, this.jurisdiction, 'pseudonym');
    let record = await this.deps.keyrings.get(tenantId);
    let fresh: Uint8Array | undefined;
    if (!record) {
      if (!create) return { state: 'absent' };
      const keyId = await this.deps.keys.createTenantKey(tenantId, this.jurisdiction);
      const secret = await this.deps.keys.generateDataKey(keyId, context);
      record = await this.deps.keyrings.putIfAbsent({
        tenantId,
        keyId,
        wrappedSecret: secret.ciphertext,
        createdAt: this.deps.clock.now().toISOString(),
      });
      // Ours won the race: no need to ask KMS for what we already hold.
      if (record.wrappedSecret === secret.ciphertext) fresh = secret.plaintext;
    }
    if (record.closedAt) return { state: 'closed' };
    const pseudonymSecret = Buffer.from(
      fresh ?? (await this.deps.keys.decrypt(record.wrappedSecret, context)),
    );
    return { state: 'open', key: { keyId: record.keyId, pseudonymSecret } };
  }

  private async requireTenantKey(tenantId: string): Promise<TenantKey> {
    const state = await this.tenantKey(tenantId, true);
    if (state.state !== 'open') throw new TenantKeyUnavailableError(tenantId);
    return state.key;
  }

  private writeKey(tenantId: string, purpose: Purpose): Promise<CachedDataKey> {
    const id = `${tenantId}\0${purpose}`;
    const cached = this.writeKeys.get(id);
    if (cached) return cached;
    const loading = (async () => {
      const tenantKey = await this.requireTenantKey(tenantId);
      const dk = await this.deps.keys.generateDataKey(
        tenantKey.keyId,
        encryptionContext(tenantId, this.jurisdiction, purpose),
      );
      return {
        plaintext: Buffer.from(dk.plaintext),
        ciphertext: dk.ciphertext,
        createdAt: this.now(),
        uses: 0,
      };
    })();
    loading.catch(() => this.writeKeys.delete(id));
    this.writeKeys.set(id, loading);
    return loading;
  }

  private readKey(tenantId: string, purpose: Purpose, wrapped: Uint8Array): Promise<Buffer> {
    const id = `${tenantId}\0${purpose}\0${Buffer.from(wrapped).toString('base64')}`;
    const hit = this.readKeys.get(id);
    if (hit && this.now() - hit.at <= this.limits.maxAgeMs) return hit.key;
    const key = this.deps.keys
      .decrypt(wrapped, encryptionContext(tenantId, this.jurisdiction, purpose))
      .then((k) => Buffer.from(k));
    key.catch(() => this.readKeys.delete(id));
    this.readKeys.set(id, { key, at: this.now() });
    // The oldest entries go first (a Map iterates in insertion order).
    for (const oldest of this.readKeys.keys()) {
      if (this.readKeys.size <= this.limits.maxDecryptEntries) break;
      this.readKeys.delete(oldest);
    }
    return key;
  }

  /** Seals one item's content under the tenant's current data key for `purpose`. */
  async seal(
    tenantId: string,
    purpose: Purpose,
    itemId: string,
    plaintext: string | Uint8Array,
  ): Promise<Sealed> {
    let dk = await this.writeKey(tenantId, purpose);
    if (this.now() - dk.createdAt > this.limits.maxAgeMs || dk.uses >= this.limits.maxUses) {
      this.writeKeys.delete(`${tenantId}\0${purpose}`);
      dk = await this.writeKey(tenantId, purpose);
    }
    dk.uses += 1;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dk.plaintext, iv);
    cipher.setAAD(aad(tenantId, this.jurisdiction, purpose, itemId));
    const first = cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext);
    const last = cipher.final();
    const blob = Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), first, last]);
    return { dataKey: dk.ciphertext, blob };
  }

  /**
   * Opens a sealed item. Content that does not open for good (altered, moved to another item,
   * sealed for another tenant, its data key refused by KMS) throws UnreadableError; a key
   * service that is only unavailable throws its own error, so the caller retries.
   */
  async open(tenantId: string, purpose: Purpose, itemId: string, sealed: Sealed): Promise<Buffer> {
    if (!(sealed.dataKey instanceof Uint8Array) || !(sealed.blob instanceof Uint8Array)) {
      throw new UnreadableError(purpose);
    }
    let key: Buffer;
    try {
      key = await this.readKey(tenantId, purpose, sealed.dataKey);
    } catch (error) {
      if (error instanceof CiphertextRefusedError)
        throw new UnreadableError(purpose, undefined, { cause: error });
      throw error;
    }
    const b = Buffer.from(sealed.blob);
    if (b[0] !== VERSION || b.length < 1 + IV_BYTES + TAG_BYTES) throw new UnreadableError(purpose);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, b.subarray(1, 1 + IV_BYTES));
      decipher.setAAD(aad(tenantId, this.jurisdiction, purpose, itemId));
      decipher.setAuthTag(b.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(b.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (error) {
      // The authentication tag does not hold: the blob was altered or belongs elsewhere.
      throw new UnreadableError(purpose, undefined, { cause: error });
    }
  }

  /**
   * The look-up pseudonym of a phone number for this tenant and jurisdiction: HMAC-SHA-256
   * under the tenant's pseudonym secret. Looking up only (`create` false): `undefined` when the
   * tenant has no key here (so it holds nothing about anyone here) or its key is gone. Creating
   * the key where it is missing (the default), there is always one: a key that is gone throws.
   */
  pseudonym(tenantId: string, e164: string, create?: true): Promise<string>;
  pseudonym(tenantId: string, e164: string, create: boolean): Promise<string | undefined>;
  async pseudonym(tenantId: string, e164: string, create = true): Promise<string | undefined> {
    const state = await this.tenantKey(tenantId, create);
    if (state.state !== 'open') {
      if (create) throw new TenantKeyUnavailableError(tenantId);
      return undefined;
    }
    return createHmac('sha256', state.key.pseudonymSecret).update(e164).digest('base64url');
  }

  /**
   * A keyed digest of a value the gateway must recognise but never keep (a request's content, a
   * body for the flood limits): HMAC-SHA-256 under the tenant's pseudonym secret, separated from
   * the pseudonyms (and from each other) by `label`. Unlike a plain hash, a short value (a
   * six-digit code, a number) cannot be found from it by guessing without the tenant's key.
   */
  async keyedDigest(tenantId: string, label: string, value: string): Promise<string> {
    const key = await this.requireTenantKey(tenantId);
    return createHmac('sha256', key.pseudonymSecret).update(`${label}\0${value}`).digest('base64url');
  }

  /** Creates the tenant's key and pseudonym secret here unless they exist. */
  async ensureTenantKey(tenantId: string): Promise<void> {
    await this.requireTenantKey(tenantId);
  }

  /** Drops every cached key of a tenant (its account is being closed). */
  forget(tenantId: string) {
    this.tenantKeys.delete(tenantId);
    for (const id of [...this.writeKeys.keys(), ...this.readKeys.keys()]) {
      if (id.startsWith(`${tenantId}\0`)) {
        this.writeKeys.delete(id);
        this.readKeys.delete(id);
      }
    }
  }
}

/**
 * The tenant's key is gone (its account was closed). Callers holding a still-cached
 * authorization get the answer a revoked key gets, not a 500.
 */
export class TenantKeyUnavailableError extends UnauthorizedError {
  constructor(readonly tenantId: string) {
    super('This account is closed.');
  }
}
