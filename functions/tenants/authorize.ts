import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { systemClock } from '#layers/adapters/system.ts';
import { UnauthorizedError } from '#layers/core/errors.ts';
import { loadSettings } from '#layers/declaration.ts';
import { toProblem } from '#layers/http/problems.ts';
import type { AuthorizerContext } from '#layers/http/schemas.ts';
import { countAuthFailure, flushMetrics, logger, traced } from '#layers/telemetry.ts';
import { pepper, tenantStore } from '#layers/wiring.ts';
import { declaration } from './authorize.def.ts';
import { makeAuthorize } from './use-cases/authorize.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const authorize = makeAuthorize({ tenants: tenantStore(), pepper, clock: systemClock });

/**
 * HTTP API Lambda authorizer (simple responses, cached per Authorization header). It never
 * denies: an HTTP API answers a denial with a bare 403 it does not let us shape, so a bad key
 * is passed on as `authenticated: false` and the route answers 401 problem+json itself.
 */
export const handler = traced(async function authorizeRequest(
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> {
  try {
    const ctx = await authorize(event.headers?.authorization);
    return {
      isAuthorized: true,
      context: {
        authenticated: true,
        tenantId: ctx.tenantId,
        keyId: ctx.keyId,
        mode: ctx.mode,
        scopes: ctx.scopes.join(','),
        bodyRetentionDays: ctx.retention.bodyDays,
        metadataRetentionDays: ctx.retention.metadataDays,
        residency: ctx.residency,
      },
    };
  } catch (error) {
    if (error instanceof UnauthorizedError) {
      // Counted, never logged with the key: a burst of failures is guessing or a leaked old key.
      countAuthFailure();
      flushMetrics();
      return { isAuthorized: true, context: { authenticated: false, reason: error.message } };
    }
    // The key could not be looked up (DynamoDB or KMS throttling or down): thrown, API Gateway
    // would answer a bare 500 with no Retry-After. Passed on instead, the route answers the
    // documented 503 problem+json. Anything else is our own failure, and stays a 500.
    const problem = toProblem(error);
    if (problem.status === 503) {
      logger.warn('API key lookup unavailable', { error: (error as Error)?.name });
      return {
        isAuthorized: true,
        context: {
          authenticated: false,
          unavailable: true,
          reason: String(problem.body.detail),
          retryAfterSeconds: Number(problem.headers?.['retry-after'] ?? 1),
        },
      };
    }
    throw error;
  }
});
