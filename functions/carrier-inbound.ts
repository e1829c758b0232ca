import { timingSafeEqual } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { bearerToken, CARRIER_TOKEN_SECRET, hashApiKey } from '#layers/core/api-keys.ts';
import { UnauthorizedError } from '#layers/core/errors.ts';
import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, json, parseJsonBody, parseWith, problemErrors } from '#layers/http/handler.ts';
import { CarrierInboundRequest } from '#layers/http/schemas.ts';
import { tracing } from '#layers/telemetry.ts';
import { enqueueCarrierEvent, ownJurisdiction, pepper, secretStore } from '#layers/wiring.ts';
import { declaration } from './carrier-inbound.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

async function authenticate(header: string | undefined) {
  const token = bearerToken(header);
  const stored = await secretStore().getWrapped(CARRIER_TOKEN_SECRET);
  if (!token || !stored) throw new UnauthorizedError('A valid carrier token is required.');
  const given = Buffer.from(hashApiKey(await pepper(), token));
  if (given.length !== stored.length || !timingSafeEqual(given, Buffer.from(stored))) {
    throw new UnauthorizedError('A valid carrier token is required.');
  }
}

/**
 * A carrier reports a person's reply. The event is queued on the carrier events queue (the path
 * the sandbox carrier's replies and every delivery receipt take) and answered at once.
 */
export const handler = middy<APIGatewayProxyEventV2>()
  .use(tracing())
  .use(problemErrors())
  .handler(async (event) => {
    await authenticate(event.headers.authorization);
    const input = parseWith(CarrierInboundRequest, parseJsonBody(event), 'pointer');
    await enqueueCarrierEvent(endpointJurisdiction(event, ownJurisdiction()), { kind: 'inbound', ...input });
    return json({ status: 202, body: { accepted: true } });
  });
