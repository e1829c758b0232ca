import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { makePublicRights } from '#layers/core/use-cases/public-rights.ts';
import { loadSettings } from '#layers/declaration.ts';
import {
  json,
  parseJsonBody,
  parseRequest,
  parseWith,
  problemErrors,
  sourceIp,
} from '#layers/http/handler.ts';
import {
  ConfirmVerificationRequest,
  StartVerificationRequest,
  VerificationParams,
} from '#layers/http/schemas.ts';
import { tracing } from '#layers/telemetry.ts';
import {
  blockList,
  endpoints,
  gatewayBudget,
  messageStore,
  onDemand,
  ownJurisdiction,
  ownRegionCounters,
  recipientPseudonyms,
  systemSms,
  tenantStore,
  verificationStore,
} from '#layers/wiring.ts';
import { declaration } from './verifications.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const rights = makePublicRights({
  // Built on first use: the global region's function holds no EU settings (it refuses EU numbers).
  verifications: onDemand(verificationStore),
  blockList: onDemand(blockList),
  messages: onDemand(messageStore),
  tenants: tenantStore(),
  pseudonyms: recipientPseudonyms(),
  counters: ownRegionCounters(),
  systemSms,
  ids: ulidIds,
  clock: systemClock,
  gatewayBudget: gatewayBudget(),
  here: ownJurisdiction(),
  endpoints: endpoints(),
});

/**
 * The public flows (no account): block every message to a number, and "who sent me this?".
 * Rate-limited per IP address and per number; the answers never depend on whether the number
 * is known or blocked until its one-time code is given.
 */
export const handler = middy<APIGatewayProxyEventV2>()
  .use(tracing())
  .use(problemErrors())
  .handler(async (event) => {
    const ip = sourceIp(event);
    if (event.routeKey === 'POST /public/v1/verifications') {
      const input = parseWith(StartVerificationRequest, parseJsonBody(event), 'pointer');
      return json({ status: 202, body: await rights.start(input, ip) });
    }
    const { params, body } = parseRequest(event, {
      params: VerificationParams,
      body: ConfirmVerificationRequest,
    });
    return json({ status: 200, body: await rights.confirm(params.id, body.code, ip) });
  });
