import { createHmac, randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { WebhookEventType } from '#layers/core/model.ts';

/** A signing secret; the previous one stays valid until `expiresAt` after a rotation. */
export interface WebhookSecret {
  value: string;
  createdAt: string;
  expiresAt?: string | undefined;
}

export interface WebhookEndpoint {
  tenantId: string;
  id: string;
  url: string;
  events: WebhookEventType[];
  description?: string | undefined;
  createdAt: string;
}

/** What goes on the webhook queue: the delivery's identity and the event, never the secret. */
export interface WebhookDelivery {
  /** The `webhook-id`: the same on every attempt, so receivers can de-duplicate. */
  id: string;
  tenantId: string;
  endpointId: string;
  type: WebhookEventType;
  createdAt: string;
  /** The event's data; for a reply, only its id and jurisdiction (the rest is `sealed`). */
  data: Record<string, unknown>;
  /**
   * A reply's number, words and times, sealed under the tenant's key in the reply's
   * jurisdiction (purpose `webhook`, the reply id as the item id), base64: the queue and its
   * DLQ never carry them in clear.
   */
  sealed?: { dataKey: string; blob: string } | undefined;
  /** Which attempt this copy of the delivery is (1 when absent): retries are new copies. */
  attempt?: number | undefined;
  /** A retry is not attempted before this time (SQS delays a message by 15 minutes at most). */
  notBefore?: string | undefined;
}

/**
 * Retry delays after each failed attempt, in seconds (Standard Webhooks' schedule, cut to stay
 * within a day): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 6 h; eight attempts over about 23.6 hours,
 * then the delivery is dead-lettered with its reason.
 */
export const DEFAULT_RETRY_SCHEDULE_SECONDS = [5, 300, 1_800, 7_200, 18_000, 36_000, 21_600];

/** `whsec_` and 32 random bytes in base64, the Standard Webhooks secret format. */
export const generateWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/**
 * The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each
 * secret still valid, space-separated (both during a rotation's grace period).
 */
export function signWebhook(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
    })
    .join(' ');
}

export const liveSecrets = (secrets: WebhookSecret[], now: Date) =>
  secrets.filter((s) => s.expiresAt === undefined || new Date(s.expiresAt) > now);

// SSRF protection ------------------------------------------------------------------------------

/** IPv4 ranges no webhook may reach: private, loopback, link-local (cloud metadata), shared, reserved. */
const BLOCKED_V4 = [
  '0.0.0.0/8', // "this" network
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, including 169.254.169.254 (instance metadata)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation
  '203.0.113.0/24', // documentation
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
];

/** IPv6 ranges refused outright (the forms that embed an IPv4 address are checked by that address). */
const BLOCKED_V6 = [
  'fc00::/7', // unique local, including fd00:ec2::254 (instance metadata)
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated by RFC 3879, still routed inside some networks)
  'ff00::/8', // multicast
  '100::/64', // discard-only
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation (RFC 9637)
  '2001::/32', // Teredo (embeds an address we cannot vet)
  '2001:10::/28', // ORCHID
];

/** Node's own address matching (`net.BlockList`), so no range is compared by hand. */
function blockListOf(ranges: string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [network, bits] = range.split('/') as [string, string];
    list.addSubnet(network, Number(bits), isIP(network) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}
const BLOCKED = blockListOf([...BLOCKED_V4, ...BLOCKED_V6]);
const LOOPBACK = blockListOf(['127.0.0.0/8', '::1/128']);

/**
 * 16 bytes of an IPv6 address (no zone), with `::` expanded and a trailing dotted IPv4 part
 * read: only to find an IPv4 address embedded in it, which no range list can express.
 */
function v6Bytes(address: string): number[] {
  let text = address.toLowerCase();
  let tail: number[] = [];
  const dotted = /\d+\.\d+\.\d+\.\d+$/.exec(text);
  if (dotted) {
    tail = dotted[0].split('.').map(Number);
    text = `${text.slice(0, -dotted[0].length)}0:0`;
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const bytes = groups.flatMap((g) => {
    const n = Number.parseInt(g || '0', 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The IPv4 address an IPv6 address carries, in the forms that route to it. */
function embeddedV4(bytes: number[]): number[] | undefined {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), ::ffff:0:a.b.c.d (translated)
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  if (zeros(0, 12) && !zeros(12, 16)) return bytes.slice(12);
  if (zeros(0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && zeros(10, 12)) return bytes.slice(12);
  // 64:ff9b::/96 (NAT64) and 64:ff9b:1::/48 (local NAT64)
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b) return bytes.slice(12);
  // 2002::/16 (6to4): the IPv4 address in bytes 2-5
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return undefined;
}

/**
 * Why an address may not receive webhooks, or undefined when it may. `allowLoopback` exists for
 * the local runtime and tests only (a receiver on this machine); the CDK app never sets it.
 */
export function blockedAddressReason(
  address: string,
  options: { allowLoopback?: boolean } = {},
): string | undefined {
  // A zone (`fe80::1%eth0`) names an interface, not an address: BlockList would match nothing.
  const bare = address.replace(/%.*$/s, '');
  const family = isIP(bare);
  if (family === 0) return 'is not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (LOOPBACK.check(bare, type)) {
    return options.allowLoopback ? undefined : `${address} is the loopback address`;
  }
  if (family === 4) {
    return BLOCKED.check(bare, type)
      ? `${address} is a private, loopback, link-local or reserved address`
      : undefined;
  }
  const bytes = v6Bytes(bare);
  if (bytes.every((b) => b === 0)) return `${address} is the unspecified address`;
  const v4 = embeddedV4(bytes);
  if (v4) {
    const inner = blockedAddressReason(v4.join('.'), options);
    return inner ? `${address} carries ${inner}` : undefined;
  }
  return BLOCKED.check(bare, type)
    ? `${address} is a private, link-local, multicast or reserved address`
    : undefined;
}

/**
 * Checks an endpoint URL when it is registered: https (http only to loopback where allowed),
 * no credentials in it, and no literal address or name that is obviously internal. Names are
 * resolved and checked again on every delivery (DNS can change).
 */
export function webhookUrlProblem(
  raw: string,
  options: { allowLoopback?: boolean } = {},
): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopbackHost =
    isIP(host) !== 0 &&
    blockedAddressReason(host, { allowLoopback: true }) === undefined &&
    blockedAddressReason(host) !== undefined;
  if (url.protocol !== 'https:' && !(options.allowLoopback && url.protocol === 'http:' && loopbackHost)) {
    return 'must use https';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  if (isIP(host) !== 0)
    return blockedAddressReason(host, options)
      ? `must not point at ${blockedAddressReason(host, options)}`
      : undefined;
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || /\.(localhost|local|internal|localdomain)$/.test(name) || !name.includes('.')) {
    return 'must name a public host';
  }
  return undefined;
}

/** The receiver's address is one no webhook may reach: the delivery is dead-lettered at once. */
export class WebhookTargetBlockedError extends Error {
  constructor(reason: string) {
    super(`The endpoint's address is not allowed: ${reason}.`);
    this.name = 'WebhookTargetBlockedError';
  }
}
