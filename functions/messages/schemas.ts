import * as z from 'zod';
import { CURSORS } from '#layers/core/cursors.ts';
import { ID_PATTERN } from '#layers/core/ids.ts';
import { isWellFormed, LONE_SURROGATE_REASON } from '#layers/core/text.ts';
import {
  BatchItemResult,
  Category,
  cursorOf,
  Jurisdiction,
  MessageStatus,
  messageMeta,
  UnreadableMessage,
} from '#layers/http/schemas.ts';

export const SendMessageRequest = z
  .strictObject({
    to: z.string().min(1).max(32).meta({ description: 'Recipient in E.164 form.', example: '+12025550100' }),
    from: z.string().min(1).max(32).meta({
      description:
        'Originator: an E.164 number, a 3-8 digit short code, or an alphanumeric sender ID (1-11 characters).',
      example: 'Acme',
    }),
    // A lone surrogate would be stored and sent as U+FFFD: refused here, whatever else is wrong.
    body: z.string().max(1600).refine(isWellFormed, LONE_SURROGATE_REASON).meta({
      description:
        'Text; GSM-7 or UCS-2 is chosen automatically. At most 10 segments (1,530 GSM-7 or 670 UCS-2 characters).',
      example: 'Your code is 123456',
    }),
    reference: z
      .string()
      .min(1)
      .max(128)
      .refine(isWellFormed, LONE_SURROGATE_REASON)
      .optional()
      .meta({ description: 'Your own reference, returned as given.' }),
    category: Category.optional(),
  })
  .meta({ id: 'SendMessageRequest' });

export type SendMessageRequest = z.infer<typeof SendMessageRequest>;

export const SendBatchRequest = z
  .strictObject({
    messages: z.array(z.unknown()).min(1).max(1000).meta({
      description: 'Up to 1,000 items, each a SendMessageRequest; each is accepted or refused on its own.',
    }),
  })
  .meta({ id: 'SendBatchRequest' });

export const Message = z
  .strictObject({
    id: z.string(),
    status: MessageStatus,
    to: z.string(),
    from: z.string(),
    body: z.string().nullable().meta({
      description: "Null once removed: by the tenant's body retention after the final status, or on request.",
    }),
    reference: z.string().nullable(),
    ...messageMeta,
  })
  .meta({ id: 'Message' });

/** A message in a list or export: readable, or marked `unreadable: true`. */
export const ListedMessage = z.union([Message, UnreadableMessage]);

export const SendMessageResponse = z.strictObject({ message: Message }).meta({ id: 'SendMessageResponse' });

export const SendBatchResponse = z
  .strictObject({ accepted: z.int(), rejected: z.int(), results: z.array(BatchItemResult) })
  .meta({ id: 'SendBatchResponse' });

export const ListMessagesQuery = z.strictObject({
  status: MessageStatus.optional().meta({
    description:
      'Only messages in this status. A filtered page reads at most 1,000 messages, so it may hold fewer than `limit` and still have a `nextCursor`: follow it until it is null.',
  }),
  jurisdiction: Jurisdiction.optional().meta({
    description: "Which jurisdiction's messages to list; defaults to the endpoint's own.",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: cursorOf(CURSORS.messages).optional(),
});

export const MessageList = z
  .strictObject({
    data: z.array(ListedMessage),
    nextCursor: z.string().nullable().meta({ description: 'Null on the last page.' }),
    jurisdiction: Jurisdiction,
  })
  .meta({ id: 'MessageList' });

export const MessageIdParams = z.object({
  id: z.string().regex(ID_PATTERN.message, 'a message id: msg_ and 26 letters and digits'),
});

export const CarrierInboundRequest = z
  .strictObject({
    // Not refused here when it is no valid number: the worker drops such a reply (no one to route it to).
    from: z.string().min(1).max(32).meta({ description: "The person's number.", example: '+12025550100' }),
    to: z.string().min(1).max(32).meta({ description: 'The gateway number or sender ID they replied to.' }),
    body: z.string().max(1600),
    carrierMessageId: z.string().min(1).max(200),
    receivedAt: z.iso.datetime(),
  })
  .meta({ id: 'CarrierInboundRequest' });

export const Accepted = z.strictObject({ accepted: z.literal(true) }).meta({ id: 'Accepted' });
