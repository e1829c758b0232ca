/*
 * What the HTTP edge runs around a tenant route's work, built on the shared wiring: the rate
 * limit, the audit entry of every call, and forward residency's relay to the EU API. The wiring
 * knows nothing of HTTP; the edge takes its stores from it.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { SqsAuditSink } from '../adapters/sqs-audit-sink.ts';
import { ulidIds } from '../adapters/system.ts';
import { RateLimitedError } from '../core/errors.ts';
import type { Jurisdiction, TenantContext } from '../core/model.ts';
import { relaysReadToEu } from '../core/residency.ts';
import { countAuditFailure, logger } from '../telemetry.ts';
import { once, ownJurisdiction, p, perJurisdiction, readSetting, sendPolicy, sqs } from '../wiring.ts';
import { endpointJurisdiction, type HttpResult, type RouteGuards } from './handler.ts';
import type { OperationRequest, OperationSpec, Parsed } from './operations.ts';
import { makeRelay } from './relay.ts';

/** Forward residency: the EU region's API, where the global region relays EU requests as they came. */
export const euRelay = /* @__PURE__ */ once(() => makeRelay({ url: readSetting('EU_RELAY_URL') }));

/**
 * Work on one jurisdiction's data (`wanted`: a number's, or the list asked for): a forward
 * tenant's EU data at the global endpoint is the EU API's to answer, relayed as it came;
 * anything else is done here (where the use case answers a strict tenant's EU data 421).
 */
export async function euOrHere(
  event: APIGatewayProxyEventV2,
  tenant: TenantContext,
  wanted: Jurisdiction | undefined,
  here: (endpoint: Jurisdiction) => Promise<HttpResult>,
): Promise<HttpResult> {
  const endpoint = endpointJurisdiction(event, ownJurisdiction());
  if (wanted && relaysReadToEu(tenant, endpoint, wanted)) return euRelay()(event);
  return here(endpoint);
}

/**
 * The same, as a tenant route's operation, `wanted` read from the request's parts: the request
 * the EU API answers is told before admission starts, so it is admitted against the rate limit
 * there only, once (the EU's 429 comes back as it came).
 */
export function euOrHereOperation<Op extends string>(
  wanted: (parts: Parsed<Op>) => Jurisdiction | undefined,
  here: (request: OperationRequest<Op>, endpoint: Jurisdiction) => Promise<HttpResult>,
): OperationSpec<Op> {
  const relays = (parts: Parsed<Op>, event: APIGatewayProxyEventV2, tenant: TenantContext) => {
    const to = wanted(parts);
    return to !== undefined && relaysReadToEu(tenant, endpointJurisdiction(event, ownJurisdiction()), to);
  };
  return {
    relays,
    handle: async (request) => {
      const { event, tenant } = request as unknown as {
        event: APIGatewayProxyEventV2;
        tenant: TenantContext;
      };
      if (relays(request, event, tenant)) return euRelay()(event);
      return here(request, endpointJurisdiction(event, ownJurisdiction()));
    },
  };
}

/** Every tenant route's request rate limit: 429 with Retry-After past it. */
async function admitTenant(tenant: TenantContext): Promise<void> {
  const out = await sendPolicy().admit(tenant);
  if (!out.ok) throw new RateLimitedError(out.retryAfterSeconds);
}

const auditSink = /* @__PURE__ */ perJurisdiction(
  (j) => new SqsAuditSink(sqs(j), readSetting(`${p(j)}_AUDIT_QUEUE_URL`)),
);

/**
 * Hands a call's audit entry to the audit queue of the jurisdiction of the data it touched (the
 * endpoint's when the answer does not say). A
 * failure does not fail the call (its work is done); it is logged and counted (AuditFailures,
 * alarmed).
 */
export const recordAudit: NonNullable<RouteGuards['audit']> = async (input, event) => {
  const { dataJurisdiction, ...entry } = input;
  const jurisdiction = dataJurisdiction ?? endpointJurisdiction(event, ownJurisdiction());
  try {
    await auditSink(jurisdiction).record({ ...entry, id: ulidIds.next('aud'), jurisdiction });
  } catch (error) {
    countAuditFailure();
    logger.error('audit entry not recorded', { action: entry.action, error: (error as Error)?.name });
  }
};

/** What every tenant route runs around its work: the rate limit and the audit trail. */
export const tenantGuards: RouteGuards = { admit: admitTenant, audit: recordAudit };
