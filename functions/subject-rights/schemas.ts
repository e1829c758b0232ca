import * as z from 'zod';
import { ListedMessage } from '#functions/messages/schemas.ts';
import { OptOut } from '#functions/recipients/schemas.ts';
import { checkedBy, LedgerLine, ListedReply, phoneProblem, Remains } from '#layers/http/schemas.ts';

export const SubjectParams = z.object({
  phone: z
    .string()
    .min(1)
    .max(32)
    .superRefine(checkedBy(phoneProblem))
    .meta({ description: 'The E.164 number, e.g. +4915123456789 (encode + as %2B).' }),
});

export const ErasureQuery = z.strictObject({
  reason: z.enum(['request', 'minor', 'other']).meta({
    description:
      "Why: the person's request, a minor's data, or another ground. Kept with the erasure record, without the number.",
  }),
});

export const SubjectExport = z
  .strictObject({
    subject: z.string(),
    generatedAt: z.iso.datetime(),
    jurisdictions: z.strictObject({
      global: z.lazy(() => SubjectData),
      eu: z.lazy(() => SubjectData),
    }),
  })
  .meta({ id: 'SubjectExport' });

export const ErasureResult = z
  .strictObject({
    erasureId: z.string(),
    reason: z.enum(['request', 'minor', 'other']),
    erasedAt: z.iso.datetime(),
    removed: z.strictObject({ messages: z.int(), idempotencyRecords: z.int(), consentsAndReplies: z.int() }),
    remains: z.array(Remains),
  })
  .meta({ id: 'ErasureResult' });

const SubjectData = z.strictObject({
  messages: z.array(ListedMessage),
  optOut: OptOut.nullable(),
  consents: z.array(LedgerLine),
  replies: z.array(ListedReply),
});
