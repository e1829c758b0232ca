import { describe, expect, it } from 'vitest';
import { itemError, makeSendMessage } from '../../functions/messages/use-cases/send-messages.ts';
import * as errors from '../../layers/core/errors.ts';
import {
  CarrierRejectedError,
  CarrierUnavailableError,
  DomainError,
  MisdirectedError,
} from '../../layers/core/errors.ts';
import { toProblem } from '../../layers/http/problems.ts';
import { fakeSendDeps, tenantContext } from '../support/fakes.ts';

/** Every error class the core exports, with the class each one inherits from. */
const errorClasses = Object.entries(errors).filter(
  ([, v]) => typeof v === 'function' && v.prototype instanceof DomainError,
) as [string, typeof DomainError][];

describe('errors know their HTTP form', () => {
  it.each(errorClasses)('%s states its own status, type and title (no catch-all)', (_name, Class) => {
    // Its own `problem`, or one inherited from another error class that states it (never the base's).
    let proto = Class.prototype;
    while (!Object.hasOwn(proto, 'problem')) proto = Object.getPrototypeOf(proto);
    expect(proto).not.toBe(DomainError.prototype);
  });

  it("answers a carrier outage with 503 and Retry-After, never the carrier's own words", () => {
    const out = toProblem(new CarrierUnavailableError('upstream 502 from carrier.example: pool exhausted'));
    expect(out.status).toBe(503);
    expect(out.headers).toEqual({ 'retry-after': '5' });
    expect(out.body.type).toMatch(/service-unavailable$/);
    expect(JSON.stringify(out.body)).not.toContain('carrier.example');
  });

  it("answers a carrier's refusal with 422 and its code, never its own words", () => {
    const out = toProblem(
      new CarrierRejectedError('invalid_destination', 'Carrier X: +12025550199 is barred'),
    );
    expect(out.status).toBe(422);
    expect(out.body.type).toMatch(/carrier-rejected$/);
    expect(out.body.detail).toContain('invalid_destination');
    expect(JSON.stringify(out.body)).not.toContain('Carrier X');
  });

  it('answers a batch item as the single send answers the same refusal, word for word', async () => {
    const deps = fakeSendDeps();
    const strict = tenantContext({ residency: 'strict' });
    const single = await makeSendMessage(deps)(
      strict,
      { to: '+4915123456789', from: 'Acme', body: 'hi' },
      'global',
    )
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(single).toBeInstanceOf(MisdirectedError);
    const item = toProblem(
      itemError({
        index: 0,
        status: 'rejected',
        reason: 'residency',
        jurisdiction: 'eu',
        endpoint: deps.endpoints.eu,
      }),
    ).body;
    const { errors: _fieldOfTheSingleSend, ...whole } = toProblem(single).body;
    expect(item).toEqual(whole);
  });
});
