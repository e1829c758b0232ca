import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ServiceUnavailableError } from '../core/errors.ts';
import { problem, toProblem } from './problems.ts';
import { RESPONSE_HEADERS } from './route.ts';

/**
 * Forward residency's relay: a request the global endpoint took for an EU/EEA subject (or for
 * EU data) goes to the EU region's API as it came, and its answer comes back unchanged. The
 * global region's function never opens it: it holds no EU table, queue or key to do so with.
 */

/** The request headers relayed: what the EU endpoint needs to authenticate, parse and dedupe. */
export const RELAYED_REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'idempotency-key',
  'user-agent',
] as const;

/** The answer's headers kept: its type and every header the gateway documents. */
const RELAYED_RESPONSE_HEADERS = [
  'content-type',
  ...Object.keys(RESPONSE_HEADERS).map((h) => h.toLowerCase()),
];

/**
 * Within API Gateway's 29-second integration limit, with time left to answer 503: the EU
 * function itself answers within that limit, so a relay that waits longer finds the EU
 * endpoint's own 504.
 */
export const RELAY_TIMEOUT_MS = 25_000;

/** A relayed answer, as the HTTP layer sends it; `relayed` keeps it out of this region's audit trail. */
export interface RelayedAnswer {
  status: number;
  text: string;
  headers: Record<string, string>;
  relayed: true;
}

/** A part of the request to relay instead of all of it (a batch's EU items). */
export interface RelayedPart {
  body: string;
  /** The key the part goes under; none when the request came without one. */
  idempotencyKey: string | undefined;
}

export type Relay = (event: APIGatewayProxyEventV2, part?: RelayedPart) => Promise<RelayedAnswer>;

export function makeRelay(options: {
  /** The EU region's API (its custom domain or its execute-api endpoint). */
  url: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): Relay {
  const send = options.fetch ?? fetch;
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? RELAY_TIMEOUT_MS;
  return async (event, part) => {
    const method = event.requestContext.http.method;
    const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
    const headers: Record<string, string> = {};
    for (const name of RELAYED_REQUEST_HEADERS) {
      const value = event.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    if (part) {
      delete headers['idempotency-key'];
      if (part.idempotencyKey !== undefined) headers['idempotency-key'] = part.idempotencyKey;
    }
    const body = part
      ? part.body
      : event.body === undefined || method === 'GET' || method === 'HEAD'
        ? undefined
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64')
          : event.body;
    let response: Response;
    let text: string;
    try {
      response = await send(`${base}${event.rawPath}${query}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        // Never follow: the EU endpoint's answer (a redirect too) is the client's to see.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      // Unreachable, refused, cut or too slow: the client retries; the message is the EU
      // region's to accept or not, and an Idempotency-Key makes the retry safe.
      throw new ServiceUnavailableError('The EU region could not be reached; retry the request.', 1, {
        cause: error,
      });
    }
    const kept: Record<string, string> = {};
    for (const name of RELAYED_RESPONSE_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) kept[name] = value;
    }
    return { status: response.status, text, headers: kept, relayed: true };
  };
}

/**
 * The key a batch's EU part is relayed under when the batch is split: the global part claims
 * the client's key (tenant-wide), so the EU part cannot; a key of its own, derived from the
 * client's, makes a retry of the whole batch replay both parts, and a changed EU part conflict.
 */
export const euPartKey = (key: string) => `eu-part.${createHash('sha256').update(key).digest('base64url')}`;

/** One item of a batch's answer, as the gateway answers it. */
export type BatchAnswerItem = { index: number; status: string; [k: string]: unknown };

/**
 * The EU part's answer in the batch's places: its items' indices and pointers become the
 * batch's (`places[i]` is the batch index of the part's item i). An EU endpoint that answered
 * the part as a whole with a problem (unreachable, rate limited, key conflict) refuses each of
 * its items with that problem, so each EU item is answered on its own.
 */
export function mergeEuPart(places: readonly number[], answer: RelayedAnswer | Error): BatchAnswerItem[] {
  const wholeProblem = (body: unknown) =>
    places.map((index) => ({ index, status: 'rejected', problem: body }));
  if (answer instanceof Error) return wholeProblem(toProblem(answer).body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    parsed = undefined;
  }
  const results = (parsed as { results?: unknown } | undefined)?.results;
  if (answer.status !== 200 || !Array.isArray(results) || results.length !== places.length) {
    return wholeProblem(
      answer.status >= 400 && parsed && typeof parsed === 'object'
        ? parsed
        : problem('service-unavailable', 'This message could not be queued; send it again.', 503),
    );
  }
  const renumber = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(renumber);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === 'pointer' && typeof v === 'string'
          ? v.replace(/^\/messages\/(\d+)/, (whole, i: string) =>
              places[Number(i)] === undefined ? whole : `/messages/${places[Number(i)]}`,
            )
          : renumber(v),
      ]),
    );
  };
  return (results as BatchAnswerItem[]).map((r) => ({
    ...(renumber(r) as BatchAnswerItem),
    index: places[r.index] ?? r.index,
  }));
}
