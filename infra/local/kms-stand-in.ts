import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { closeServer, listenOn } from './listen.ts';

/**
 * A DEVELOPMENT STAND-IN for AWS KMS, not a security boundary. It speaks the KMS JSON protocol
 * for the operations the gateway uses, so `@aws-sdk/client-kms` runs unchanged against it.
 * Keys are AES-256 keys kept in a JSON file in the local data folder (or in memory); deleted
 * keys are refused from the moment their deletion is scheduled, like a key pending deletion.
 * Like KMS, keys and aliases are regional: the region is read from the request's SigV4
 * credential scope, so one stand-in serves both jurisdictions' regions without mixing them.
 * Key policies are kept but not evaluated here: the local IAM proxy (infra/local/iam/proxy.ts)
 * reads them, with the key's aliases and tags, through GetKeyPolicy, ListAliases and
 * ListResourceTags, and enforces them in front of this stand-in.
 */
interface KeyEntry {
  id: string;
  region?: string;
  policy?: string;
  material: string;
  description: string;
  createdAt: number;
  state: 'Enabled' | 'PendingDeletion';
  deletionDate?: number;
  tags?: Record<string, string>;
  /** When each tag key was last set or removed (ms), so authorization can lag behind tag changes as in KMS. */
  tagChangedAt?: Record<string, number>;
}

interface State {
  keys: Record<string, KeyEntry>;
  aliases: Record<string, string>;
  /** When each alias was created or last pointed elsewhere (ms); absent in files written before. */
  aliasChangedAt?: Record<string, number>;
}

/** The key id inside one of this stand-in's ciphertext blobs (Decrypt may name no key: KMS reads it from the blob). */
export function ciphertextKeyId(blob: Buffer): string | undefined {
  if (blob.length < MAGIC.length + 36 || !blob.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  return blob.subarray(MAGIC.length, MAGIC.length + 36).toString();
}

const ACCOUNT = '000000000000';
const MAGIC = Buffer.from('LKMS1');

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function aad(context: Record<string, string> | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return Buffer.from(JSON.stringify(entries));
}

export class KmsStandIn {
  private state: State = { keys: {}, aliases: {} };
  private server?: Server;
  /** Requests served per operation, for tests and benchmarks that count KMS calls. */
  readonly calls: Record<string, number> = {};

  constructor(private readonly options: { region: string; file?: string | undefined }) {
    if (options.file && existsSync(options.file))
      this.state = JSON.parse(readFileSync(options.file, 'utf8')) as State;
  }

  private region = '';

  private arn(id: string) {
    return `arn:aws:kms:${this.state.keys[id]?.region ?? this.region}:${ACCOUNT}:key/${id}`;
  }

  private aliasKey(name: string) {
    return this.region === this.options.region ? name : `${this.region}:${name}`;
  }

  /** This region's aliases, by name. */
  private regionAliases(): [name: string, stored: string, keyId: string][] {
    return Object.entries(this.state.aliases).flatMap(([stored, keyId]) => {
      const name = stored.startsWith('alias/') ? stored : stored.slice(stored.indexOf(':') + 1);
      return this.aliasKey(name) === stored ? [[name, stored, keyId] as [string, string, string]] : [];
    });
  }

  private tagList(input: unknown): { TagKey: string; TagValue: string }[] {
    if (input === undefined) return [];
    if (!Array.isArray(input)) throw new KmsError('ValidationException', 'Tags must be a list.');
    return input.map((t: { TagKey?: unknown; TagValue?: unknown }) => {
      if (typeof t.TagKey !== 'string' || typeof t.TagValue !== 'string')
        throw new KmsError('ValidationException', 'Each tag needs a TagKey and a TagValue.');
      return { TagKey: t.TagKey, TagValue: t.TagValue };
    });
  }

  private setTags(key: KeyEntry, tags: { TagKey: string; TagValue: string }[], at: number) {
    for (const t of tags) {
      key.tags = { ...key.tags, [t.TagKey]: t.TagValue };
      key.tagChangedAt = { ...key.tagChangedAt, [t.TagKey]: at };
    }
  }

  private save() {
    if (!this.options.file) return;
    mkdirSync(dirname(this.options.file), { recursive: true });
    const tmp = `${this.options.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state), { mode: 0o600 });
    renameSync(tmp, this.options.file);
  }

  private resolve(keyId: unknown, usable = true): KeyEntry {
    if (typeof keyId !== 'string' || keyId === '')
      throw new KmsError('ValidationException', 'KeyId is required');
    let id = keyId.replace(/^arn:aws:kms:[^:]+:\d+:key\//, '');
    const alias = keyId.replace(/^arn:aws:kms:[^:]+:\d+:/, '');
    if (alias.startsWith('alias/')) {
      const target = this.state.aliases[this.aliasKey(alias)];
      if (!target) throw new KmsError('NotFoundException', `Alias ${alias} is not found.`);
      id = target;
    }
    const key = this.state.keys[id];
    if (!key || (key.region ?? this.options.region) !== this.region)
      throw new KmsError('NotFoundException', `Key '${this.arn(id)}' does not exist`);
    if (usable && key.state !== 'Enabled') {
      throw new KmsError('KMSInvalidStateException', `${this.arn(id)} is pending deletion.`);
    }
    return key;
  }

  private metadata(k: KeyEntry) {
    return {
      AWSAccountId: ACCOUNT,
      KeyId: k.id,
      Arn: this.arn(k.id),
      CreationDate: k.createdAt / 1000,
      Enabled: k.state === 'Enabled',
      Description: k.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: k.state,
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      ...(k.deletionDate ? { DeletionDate: k.deletionDate / 1000 } : {}),
    };
  }

  private encrypt(key: KeyEntry, plaintext: Buffer, context: Record<string, string> | undefined): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(key.material, 'base64'), iv);
    cipher.setAAD(aad(context));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([MAGIC, Buffer.from(key.id), iv, cipher.getAuthTag(), ct]);
  }

  private decrypt(blob: Buffer, context: Record<string, string> | undefined, keyId?: unknown) {
    if (blob.length < MAGIC.length + 36 + 28 || !blob.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new KmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
    }
    const id = blob.subarray(MAGIC.length, MAGIC.length + 36).toString();
    const key = this.resolve(id);
    if (keyId !== undefined && this.resolve(keyId).id !== id) {
      throw new KmsError(
        'IncorrectKeyException',
        'The key ID in the request does not identify the key used to encrypt.',
      );
    }
    const at = MAGIC.length + 36;
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        Buffer.from(key.material, 'base64'),
        blob.subarray(at, at + 12),
      );
      decipher.setAAD(aad(context));
      decipher.setAuthTag(blob.subarray(at + 12, at + 28));
      return { key, plaintext: Buffer.concat([decipher.update(blob.subarray(at + 28)), decipher.final()]) };
    } catch {
      throw new KmsError(
        'InvalidCiphertextException',
        'The ciphertext or its encryption context is invalid.',
      );
    }
  }

  handle(operation: string, input: Record<string, unknown>, region = this.options.region): unknown {
    this.region = region;
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    const ctx = input.EncryptionContext as Record<string, string> | undefined;
    switch (operation) {
      case 'CreateKey': {
        const key: KeyEntry = {
          id: randomUUID(),
          material: randomBytes(32).toString('base64'),
          description: String(input.Description ?? ''),
          region,
          ...(typeof input.Policy === 'string' ? { policy: input.Policy } : {}),
          createdAt: Date.now(),
          state: 'Enabled',
        };
        this.setTags(key, this.tagList(input.Tags), key.createdAt);
        this.state.keys[key.id] = key;
        this.save();
        return { KeyMetadata: this.metadata(key) };
      }
      case 'CreateAlias': {
        const name = String(input.AliasName);
        if (!name.startsWith('alias/'))
          throw new KmsError('ValidationException', 'AliasName must start with alias/');
        if (this.state.aliases[this.aliasKey(name)])
          throw new KmsError('AlreadyExistsException', `An alias with the name ${name} already exists`);
        this.state.aliases[this.aliasKey(name)] = this.resolve(input.TargetKeyId, false).id;
        this.state.aliasChangedAt = { ...this.state.aliasChangedAt, [this.aliasKey(name)]: Date.now() };
        this.save();
        return {};
      }
      case 'DeleteAlias': {
        const name = String(input.AliasName);
        if (!this.state.aliases[this.aliasKey(name)])
          throw new KmsError('NotFoundException', `Alias ${name} is not found.`);
        delete this.state.aliases[this.aliasKey(name)];
        delete this.state.aliasChangedAt?.[this.aliasKey(name)];
        this.save();
        return {};
      }
      case 'ListAliases': {
        const only = input.KeyId === undefined ? undefined : this.resolve(input.KeyId, false).id;
        const Aliases = this.regionAliases()
          .filter(([, , keyId]) => only === undefined || keyId === only)
          .map(([name, stored, keyId]) => {
            const changed = (this.state.aliasChangedAt?.[stored] ?? 0) / 1000;
            return {
              AliasName: name,
              AliasArn: `arn:aws:kms:${this.region}:${ACCOUNT}:${name}`,
              TargetKeyId: keyId,
              CreationDate: changed,
              LastUpdatedDate: changed,
            };
          });
        return { Aliases, Truncated: false };
      }
      case 'ListResourceTags': {
        const key = this.resolve(input.KeyId, false);
        return {
          Tags: Object.entries(key.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
          Truncated: false,
          // Not in KMS: when each tag last changed, for the IAM proxy's authorization lag.
          LocalTagChangedAt: Object.fromEntries(
            Object.entries(key.tagChangedAt ?? {}).map(([k, at]) => [k, at / 1000]),
          ),
        };
      }
      case 'TagResource': {
        const key = this.resolve(input.KeyId, false);
        this.setTags(key, this.tagList(input.Tags), Date.now());
        this.save();
        return {};
      }
      case 'UntagResource': {
        const key = this.resolve(input.KeyId, false);
        if (!Array.isArray(input.TagKeys)) throw new KmsError('ValidationException', 'TagKeys is required.');
        for (const k of input.TagKeys as unknown[]) {
          if (key.tags) delete key.tags[String(k)];
          key.tagChangedAt = { ...key.tagChangedAt, [String(k)]: Date.now() };
        }
        this.save();
        return {};
      }
      case 'PutKeyPolicy': {
        const key = this.resolve(input.KeyId, false);
        if (typeof input.Policy !== 'string' || input.Policy === '')
          throw new KmsError('ValidationException', 'Policy is required.');
        key.policy = input.Policy;
        this.save();
        return {};
      }
      case 'DescribeKey':
        return { KeyMetadata: this.metadata(this.resolve(input.KeyId, false)) };
      case 'GetKeyPolicy':
        return { Policy: this.resolve(input.KeyId, false).policy ?? '', PolicyName: 'default' };
      case 'GenerateDataKey': {
        const key = this.resolve(input.KeyId);
        const bytes =
          input.KeySpec === 'AES_128' ? 16 : input.KeySpec === 'AES_256' ? 32 : Number(input.NumberOfBytes);
        if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) {
          throw new KmsError('ValidationException', 'Specify KeySpec or NumberOfBytes (1-1024).');
        }
        const plaintext = randomBytes(bytes);
        return {
          KeyId: this.arn(key.id),
          Plaintext: plaintext.toString('base64'),
          CiphertextBlob: this.encrypt(key, plaintext, ctx).toString('base64'),
        };
      }
      case 'Encrypt': {
        const key = this.resolve(input.KeyId);
        const plaintext = Buffer.from(String(input.Plaintext ?? ''), 'base64');
        if (plaintext.length === 0 || plaintext.length > 4096) {
          throw new KmsError('ValidationException', 'Plaintext must be 1 to 4096 bytes.');
        }
        return {
          KeyId: this.arn(key.id),
          CiphertextBlob: this.encrypt(key, plaintext, ctx).toString('base64'),
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      }
      case 'Decrypt': {
        const { key, plaintext } = this.decrypt(
          Buffer.from(String(input.CiphertextBlob ?? ''), 'base64'),
          ctx,
          input.KeyId,
        );
        return {
          KeyId: this.arn(key.id),
          Plaintext: plaintext.toString('base64'),
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      }
      case 'ScheduleKeyDeletion': {
        const key = this.resolve(input.KeyId, false);
        const days = Number(input.PendingWindowInDays ?? 30);
        if (!Number.isInteger(days) || days < 7 || days > 30) {
          throw new KmsError('ValidationException', 'PendingWindowInDays must be between 7 and 30.');
        }
        key.state = 'PendingDeletion';
        key.deletionDate = Date.now() + days * 86_400_000;
        this.save();
        return {
          KeyId: this.arn(key.id),
          DeletionDate: key.deletionDate / 1000,
          KeyState: key.state,
          PendingWindowInDays: days,
        };
      }
      default:
        throw new KmsError(
          'UnsupportedOperationException',
          `The local KMS stand-in does not implement ${operation}.`,
        );
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.replace(/^TrentService\./, '');
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    try {
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/kms\//.exec(String(req.headers.authorization ?? ''));
      const out = this.handle(operation, input, scope?.[1] ?? this.options.region);
      res.writeHead(200).end(JSON.stringify(out));
    } catch (error) {
      const e = error instanceof KmsError ? error : new KmsError('KMSInternalException', 'Internal error');
      res
        .writeHead(e.type === 'KMSInternalException' ? 500 : 400)
        .end(JSON.stringify({ __type: e.type, message: e.message }));
    }
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => void this.serve(req, res));
    this.server = server;
    return listenOn(server, port, host);
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }
}
