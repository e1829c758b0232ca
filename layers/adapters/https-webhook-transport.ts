import { lookup } from 'node:dns';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  blockedAddressReason,
  WebhookTargetBlockedError,
  webhookUrlProblem,
} from '#functions/webhooks/model.ts';
import type { WebhookTransport } from '#functions/webhooks/ports.ts';
import { present } from '../present.ts';

/** Reasons a receiver can read in its delivery history: never the receiver's body or our internals. */
function reasonOf(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'The endpoint refused the connection.';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return "The endpoint's host name does not resolve.";
    case 'ECONNRESET':
      return 'The endpoint closed the connection.';
    case 'ETIMEDOUT':
      return 'The endpoint did not answer in time.';
    default:
      return /CERT|SSL|TLS/i.test(String(error.code))
        ? `The endpoint's TLS certificate was not accepted (${error.code}).`
        : `The request failed${error.code ? ` (${error.code})` : ''}.`;
  }
}

type Resolve = (
  hostname: string,
  options: { all: true; family: number },
  callback: (error: NodeJS.ErrnoException | null, addresses: { address: string; family: number }[]) => void,
) => void;

/**
 * A `lookup` for the HTTP client that resolves a name once and fails unless every address it
 * gave may receive webhooks; the client then connects to the address checked here.
 */
export function vettedLookup(
  allowLoopback: boolean,
  resolve: Resolve = lookup as unknown as Resolve,
): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    resolve(hostname, { all: true, family }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      for (const a of addresses) {
        const why = blockedAddressReason(a.address, { allowLoopback });
        if (why) return callback(new WebhookTargetBlockedError(why), '', 0);
      }
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      } else {
        // A lookup without an error gives an address.
        const first = present(addresses[0], `an address of ${hostname}`);
        callback(null, first.address, first.family);
      }
    });
  };
}

/**
 * POSTs a webhook without following redirects, within `timeoutMs`, to an address checked after
 * resolution: the name is resolved once, every address it gave is checked (private, loopback,
 * link-local, metadata and reserved ranges, in IPv4, IPv6 and the IPv6 forms that carry IPv4),
 * and the connection goes to the checked address, so a DNS answer cannot change in between.
 */
export class HttpsWebhookTransport implements WebhookTransport {
  constructor(private readonly options: { timeoutMs: number; allowLoopback: boolean }) {}

  post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number }> {
    const problem = webhookUrlProblem(url, { allowLoopback: this.options.allowLoopback });
    if (problem) return Promise.reject(new WebhookTargetBlockedError(`the URL ${problem}`));
    const checkedLookup = vettedLookup(this.options.allowLoopback);
    const target = new URL(url);
    return new Promise((resolve, reject) => {
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req: ClientRequest = send(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: checkedLookup,
          agent: false,
          timeout: this.options.timeoutMs,
        },
        (res: IncomingMessage) => {
          // Only the status matters; the body is not read (nor kept).
          resolve({ status: res.statusCode ?? 0 });
          res.destroy();
        },
      );
      req.on('timeout', () => {
        const e = new Error('timeout') as NodeJS.ErrnoException;
        e.code = 'ETIMEDOUT';
        req.destroy(e);
      });
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(error instanceof WebhookTargetBlockedError ? error : new Error(reasonOf(error))),
      );
      req.end(body);
    });
  }
}
