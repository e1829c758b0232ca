import {
  ConflictException,
  InternalServerException,
  PinpointSMSVoiceV2Client,
  SendTextMessageCommand,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EumCarrier } from '../../layers/adapters/eum-carrier.ts';
import { EUM_FINAL_EVENT_TYPES, translateEumEvent } from '../../layers/adapters/eum-events.ts';
import {
  CarrierRejectedError,
  CarrierThrottledError,
  CarrierUnavailableError,
} from '../../layers/core/errors.ts';
import type { CarrierSendRequest } from '../../layers/ports/index.ts';

// AWS End User Messaging cannot run here: its requests are checked exactly against a mock.
const eum = mockClient(PinpointSMSVoiceV2Client);
const client = new PinpointSMSVoiceV2Client({ region: 'eu-central-1' });

const request: CarrierSendRequest = {
  messageId: 'msg_01JABCDEFGHJKMNPQRSTVWXYZ0',
  tenantId: 'ten_01JABCDEFGHJKMNPQRSTVWXYZ0',
  to: '+4915123456789',
  from: 'Acme',
  body: 'Your code is 123456',
  category: 'transactional',
};

const meta = { $metadata: {} };

describe('the AWS End User Messaging SMS carrier', () => {
  beforeEach(() => eum.reset());

  it('sends with the configuration set, message type, origination identity, max price, TTL and the gateway ids as context', async () => {
    eum.on(SendTextMessageCommand).resolves({ MessageId: 'eum-1' });
    const carrier = new EumCarrier(client, 'eu', {
      configurationSetName: 'sms-gateway-eu',
      maxPrice: '0.10',
      timeToLiveSeconds: 3600,
    });
    await expect(carrier.send(request)).resolves.toEqual({ carrierMessageId: 'eum-1' });
    await carrier.send({ ...request, category: 'promotional' });
    expect(eum.commandCalls(SendTextMessageCommand).map((c) => c.args[0].input)).toEqual([
      {
        DestinationPhoneNumber: '+4915123456789',
        OriginationIdentity: 'Acme',
        MessageBody: 'Your code is 123456',
        MessageType: 'TRANSACTIONAL',
        ConfigurationSetName: 'sms-gateway-eu',
        MaxPrice: '0.10',
        TimeToLive: 3600,
        Context: { gatewayMessageId: request.messageId, tenantId: request.tenantId, jurisdiction: 'eu' },
      },
      expect.objectContaining({ MessageType: 'PROMOTIONAL' }),
    ]);
  });

  it('leaves out the max price and TTL when none are configured', async () => {
    eum.on(SendTextMessageCommand).resolves({ MessageId: 'eum-2' });
    await new EumCarrier(client, 'global', { configurationSetName: 'cs' }).send(request);
    const input = eum.commandCalls(SendTextMessageCommand)[0]!.args[0].input;
    expect(Object.keys(input).sort()).toEqual([
      'ConfigurationSetName',
      'Context',
      'DestinationPhoneNumber',
      'MessageBody',
      'MessageType',
      'OriginationIdentity',
    ]);
  });

  it.each([
    [
      new ValidationException({ message: 'bad', ...meta, Reason: 'INVALID_PARAMETER' }),
      'eum_invalid_parameter',
    ],
    [
      new ConflictException({ message: 'opted out', ...meta, Reason: 'DESTINATION_PHONE_NUMBER_OPTED_OUT' }),
      'eum_destination_phone_number_opted_out',
    ],
  ])('fails the message for good on %s', async (error, code) => {
    eum.on(SendTextMessageCommand).rejects(error);
    const out = await new EumCarrier(client, 'global', { configurationSetName: 'cs' })
      .send(request)
      .catch((e: unknown) => e);
    expect(out).toBeInstanceOf(CarrierRejectedError);
    expect((out as CarrierRejectedError).code).toBe(code);
  });

  it('reports a ThrottlingException as a throttle, so the message waits without using up an attempt', async () => {
    eum.on(SendTextMessageCommand).rejects(new ThrottlingException({ message: 'slow down', ...meta }));
    await expect(
      new EumCarrier(client, 'global', { configurationSetName: 'cs' }).send(request),
    ).rejects.toBeInstanceOf(CarrierThrottledError);
  });

  it.each([
    new InternalServerException({ message: 'oops', ...meta }),
    Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
  ])('leaves the message to be retried on %s', async (error) => {
    eum.on(SendTextMessageCommand).rejects(error);
    await expect(
      new EumCarrier(client, 'global', { configurationSetName: 'cs' }).send(request),
    ).rejects.toBeInstanceOf(CarrierUnavailableError);
  });
});

describe("End User Messaging's events", () => {
  const event = (eventType: string, extra: object = {}) => ({
    eventType,
    eventVersion: '1.0',
    eventTimestamp: Date.parse('2026-11-24T10:00:05Z'),
    isFinal: true,
    messageId: 'eum-1',
    messageStatusDescription: 'Message blocked by the carrier',
    context: { gatewayMessageId: request.messageId, tenantId: request.tenantId, jurisdiction: 'eu' },
    ...extra,
  });

  it('become delivery receipts for the message named in their context', () => {
    expect(translateEumEvent(event('TEXT_DELIVERED'))).toEqual({
      kind: 'delivery_receipt',
      tenantId: request.tenantId,
      messageId: request.messageId,
      jurisdiction: 'eu',
      carrierMessageId: 'eum-1',
      status: 'delivered',
      errorCode: undefined,
      errorMessage: undefined,
      occurredAt: '2026-11-24T10:00:05.000Z',
    });
    expect(translateEumEvent(event('TEXT_CARRIER_BLOCKED'))).toMatchObject({
      status: 'failed',
      errorCode: 'carrier_blocked',
      errorMessage: 'Message blocked by the carrier',
    });
    expect(translateEumEvent(event('TEXT_INVALID'))).toMatchObject({ status: 'undeliverable' });
  });

  it('count TEXT_SUCCESSFUL as delivered: some countries report delivery with it instead of TEXT_DELIVERED', () => {
    // Shaped like the SMS event in the End User Messaging user guide ("Messaging Events").
    const successful = {
      eventType: 'TEXT_SUCCESSFUL',
      eventVersion: '1.0',
      eventTimestamp: 1686975103470,
      isFinal: true,
      originationPhoneNumber: '+12065550152',
      destinationPhoneNumber: '+14255550156',
      isInternationalSend: false,
      mcc: '310',
      mnc: '800',
      messageId: '862a8790-60c0-4430-9b2b-658bdexample',
      messageRequestTimestamp: 1686975103170,
      messageEncoding: 'GSM',
      messageType: 'TRANSACTIONAL',
      messageStatus: 'SUCCESSFUL',
      messageStatusDescription: 'Message has been accepted by phone carrier',
      context: { gatewayMessageId: request.messageId, tenantId: request.tenantId, jurisdiction: 'global' },
      totalMessageParts: 1,
      totalMessagePrice: 0.00581,
      totalCarrierFee: 0.0,
    };
    expect(translateEumEvent(successful)).toEqual({
      kind: 'delivery_receipt',
      tenantId: request.tenantId,
      messageId: request.messageId,
      jurisdiction: 'global',
      carrierMessageId: '862a8790-60c0-4430-9b2b-658bdexample',
      status: 'delivered',
      errorCode: undefined,
      errorMessage: undefined,
      occurredAt: new Date(1686975103470).toISOString(),
    });
    // The configuration set publishes it, or the gateway would never hear of these deliveries.
    expect(EUM_FINAL_EVENT_TYPES).toContain('TEXT_SUCCESSFUL');
  });

  it('are read inside an SNS envelope too', () => {
    expect(
      translateEumEvent({ Type: 'Notification', Message: JSON.stringify(event('TEXT_TTL_EXPIRED')) }),
    ).toMatchObject({ status: 'failed', errorCode: 'ttl_expired' });
  });

  it('that end nothing, or that name no gateway message, are passed over', () => {
    for (const t of ['TEXT_QUEUED', 'TEXT_PENDING', 'TEXT_SENT']) {
      expect(translateEumEvent(event(t))).toBeUndefined();
    }
    expect(translateEumEvent(event('TEXT_DELIVERED', { context: {} }))).toBeUndefined();
  });

  it('turn a two-way SMS reply into an inbound event', () => {
    const reply = {
      originationNumber: '+4915123456789',
      destinationNumber: '+4930123456',
      messageKeyword: 'KEYWORD_123456789012',
      messageBody: 'STOP',
      inboundMessageId: 'in-1',
      previousPublishedMessageId: 'eum-1',
    };
    expect(
      translateEumEvent({
        Type: 'Notification',
        Message: JSON.stringify(reply),
        Timestamp: '2026-11-24T10:01:00.000Z',
      }),
    ).toEqual({
      kind: 'inbound',
      from: '+4915123456789',
      to: '+4930123456',
      body: 'STOP',
      carrierMessageId: 'in-1',
      receivedAt: '2026-11-24T10:01:00.000Z',
    });
  });
});
