import * as z from 'zod';
import { onceValid, Phone } from '#layers/http/schemas.ts';
import { IDENTIFY_NEEDS, identifiesAMessage } from './use-cases/public-rights.ts';

export const StartVerificationRequest = z
  .strictObject({
    phone: Phone,
    purpose: z.enum(['block', 'unblock', 'identify']).meta({
      description:
        'block: stop every message through this gateway; unblock: undo that; identify: learn who sent a message.',
    }),
    reference: z
      .string()
      .trim()
      .min(4)
      .max(12)
      .optional()
      .meta({ description: 'identify: the "Ref:" code in the message.' }),
    sentAt: z.iso
      .datetime()
      .optional()
      .meta({ description: 'identify, without a reference: about when it arrived.' }),
    senderId: z
      .string()
      .min(1)
      .max(32)
      .optional()
      .meta({ description: 'identify, without a reference: the sender shown.' }),
  })
  .refine(identifiesAMessage, {
    message: IDENTIFY_NEEDS,
    path: ['reference'],
    ...onceValid('purpose', 'reference', 'sentAt', 'senderId'),
  })
  .meta({ id: 'StartVerificationRequest' });

export const VerificationStarted = z
  .strictObject({ verificationId: z.string(), expiresAt: z.iso.datetime() })
  .meta({ id: 'VerificationStarted' });

export const VerificationParams = z.object({
  id: z.string().regex(/^vrf_[0-9A-HJKMNP-TV-Z]{26}$/, 'a verification id: vrf_ and 26 letters and digits'),
});

export const ConfirmVerificationRequest = z
  .strictObject({ code: z.string().regex(/^\d{6}$/, 'must be the 6 digits sent by SMS') })
  .meta({ id: 'ConfirmVerificationRequest' });

export const VerificationResult = z
  .union([
    z.strictObject({ purpose: z.literal('block'), blocked: z.literal(true), detail: z.string() }),
    z.strictObject({ purpose: z.literal('unblock'), blocked: z.literal(false), detail: z.string() }),
    z.strictObject({
      purpose: z.literal('identify'),
      senders: z.array(
        z.strictObject({
          legalName: z.string(),
          contactEmail: z
            .string()
            .optional()
            .meta({ description: 'Absent when the account has closed since.' }),
          senderId: z.string(),
          sentAt: z.iso.datetime(),
        }),
      ),
    }),
  ])
  .meta({ id: 'VerificationResult' });
