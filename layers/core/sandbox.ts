/**
 * The sandbox carrier's magic numbers (the North American 555-0100 to 555-0199 range, reserved
 * for fiction: valid numbers that never reach a subscriber). Any other number is delivered at once. Like Twilio's test numbers, they let
 * a developer exercise every outcome without a real carrier.
 */
export const SANDBOX_NUMBERS = {
  '+12025550101': { outcome: 'receipt', status: 'failed', code: 'carrier_error', delaySeconds: 0 },
  '+12025550102': {
    outcome: 'receipt',
    status: 'undeliverable',
    code: 'unknown_subscriber',
    delaySeconds: 0,
  },
  '+12025550103': { outcome: 'receipt', status: 'delivered', delaySeconds: 10 },
  '+12025550104': { outcome: 'rejected', code: 'invalid_destination' },
  '+12025550105': { outcome: 'unavailable' },
  '+12025550106': { outcome: 'slow_send', sendMs: 3000 },
  // The carrier takes the message (and reports it delivered) but its answer never comes.
  '+12025550109': { outcome: 'timeout', taken: true },
  // The carrier never answers and never takes the message.
  '+12025550108': { outcome: 'timeout', taken: false },
} as const;

export type SandboxBehaviour =
  | {
      outcome: 'receipt';
      status: 'delivered' | 'failed' | 'undeliverable';
      code?: string;
      delaySeconds: number;
    }
  | { outcome: 'rejected'; code: string }
  | { outcome: 'unavailable' }
  | { outcome: 'slow_send'; sendMs: number }
  | { outcome: 'timeout'; taken: boolean };

/**
 * A message whose body contains this mark is refused at send whatever its number, as a real
 * carrier refuses one sender's message to a handset it delivers another's to (two tenants
 * texting one person, one of them refused).
 */
export const SANDBOX_REFUSE_MARK = '{refuse}';

export function sandboxBehaviour(to: string, body = ''): SandboxBehaviour {
  if (body.includes(SANDBOX_REFUSE_MARK)) return { outcome: 'rejected', code: 'message_refused' };
  return (
    (SANDBOX_NUMBERS as Record<string, SandboxBehaviour>)[to] ?? {
      outcome: 'receipt',
      status: 'delivered',
      delaySeconds: 0,
    }
  );
}

/**
 * The sandbox's replying handset: a message to it that contains `{reply:TEXT}` is answered
 * with TEXT as an inbound reply, through the carrier events queue (which carries only the ids of
 * the message answered: the worker reads TEXT from the message as stored), e.g.
 * "Your offer {reply:STOP please}" makes the handset answer "STOP please".
 */
export const SANDBOX_REPLYING_NUMBER = '+12025550107';

export function sandboxReply(to: string, body: string): string | undefined {
  if (to !== SANDBOX_REPLYING_NUMBER) return undefined;
  return /\{reply:([^}]{1,160})\}/.exec(body)?.[1];
}
