import {
  ConflictException,
  type PinpointSMSVoiceV2Client,
  ResourceNotFoundException,
  SendTextMessageCommand,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { CarrierRejectedError, CarrierThrottledError, CarrierUnavailableError } from '../core/errors.ts';
import type { Jurisdiction } from '../core/model.ts';
import type { Carrier, CarrierSendOptions, CarrierSendRequest } from '../ports/index.ts';

export interface EumSettings {
  /** The configuration set whose event destination reports delivery events to the carrier events queue. */
  configurationSetName: string;
  /** The most to pay per message part, in US dollars (EUM refuses a dearer send). */
  maxPrice?: string | undefined;
  /** Seconds the carrier keeps trying to deliver before it gives up (TEXT_TTL_EXPIRED). */
  timeToLiveSeconds?: number | undefined;
}

/**
 * AWS End User Messaging SMS (`pinpoint-sms-voice-v2`). The `from` of a message is its
 * origination identity (an E.164 number, a sender ID or a pool, as registered in EUM); the
 * gateway's own ids travel in `Context`, which EUM copies into every event of the message,
 * so receipts find their message without a look-up table.
 */
export class EumCarrier implements Carrier {
  constructor(
    private readonly client: PinpointSMSVoiceV2Client,
    private readonly jurisdiction: Jurisdiction,
    private readonly settings: EumSettings,
  ) {}

  async send(req: CarrierSendRequest, options?: CarrierSendOptions): Promise<{ carrierMessageId: string }> {
    try {
      const out = await this.client.send(
        new SendTextMessageCommand({
          DestinationPhoneNumber: req.to,
          OriginationIdentity: req.from,
          MessageBody: req.body,
          MessageType: req.category === 'promotional' ? 'PROMOTIONAL' : 'TRANSACTIONAL',
          ConfigurationSetName: this.settings.configurationSetName,
          ...(this.settings.maxPrice ? { MaxPrice: this.settings.maxPrice } : {}),
          ...(this.settings.timeToLiveSeconds ? { TimeToLive: this.settings.timeToLiveSeconds } : {}),
          Context: {
            gatewayMessageId: req.messageId,
            tenantId: req.tenantId,
            jurisdiction: this.jurisdiction,
          },
        }),
        // The dispatcher's timeout ends the request and the SDK's own retries with it: a retry
        // after a timeout could hand the carrier the same message twice.
        { abortSignal: options?.signal },
      );
      if (!out.MessageId) throw new CarrierUnavailableError('EUM answered without a message id.');
      return { carrierMessageId: out.MessageId };
    } catch (error) {
      throw classify(error);
    }
  }
}

/**
 * A refusal that retrying cannot change (a bad destination, an opted-out number at EUM, an
 * unknown origination identity, a price above MaxPrice) fails the message; a throttle (sent
 * faster than the identity's or the account's MPS) makes it wait without using up an attempt;
 * anything else (quotas, 5xx, network) is retried by the queue.
 */
function classify(error: unknown): Error {
  if (error instanceof CarrierRejectedError || error instanceof CarrierUnavailableError) return error;
  if (error instanceof ThrottlingException) {
    return new CarrierThrottledError('End User Messaging throttled the send (ThrottlingException).', {
      cause: error,
    });
  }
  if (error instanceof ValidationException) {
    return new CarrierRejectedError(
      `eum_${String(error.Reason ?? 'validation').toLowerCase()}`,
      'End User Messaging refused the message as invalid.',
    );
  }
  if (error instanceof ConflictException) {
    return new CarrierRejectedError(
      `eum_${String(error.Reason ?? 'conflict').toLowerCase()}`,
      'End User Messaging refused the message (e.g. the destination opted out at the carrier).',
    );
  }
  if (error instanceof ResourceNotFoundException) {
    return new CarrierRejectedError(
      'eum_origination_unknown',
      'End User Messaging does not know the origination identity or configuration set.',
    );
  }
  return new CarrierUnavailableError(`End User Messaging unavailable: ${(error as Error)?.name ?? 'error'}`);
}
