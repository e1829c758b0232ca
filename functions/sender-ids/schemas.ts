import * as z from 'zod';
import { checkSender } from '#layers/core/sender.ts';
import { CountryCode, checkedBy, SenderIdentityInput } from '#layers/http/schemas.ts';

export const SenderIdApplication = z
  .strictObject({
    value: z
      .string()
      .min(1)
      .max(32)
      .superRefine(
        checkedBy((value) => {
          const check = checkSender(value);
          return check.ok ? undefined : check.reason;
        }),
      ),
    countries: z.array(CountryCode).max(250).default([]).meta({ description: 'Empty: every country.' }),
    identity: SenderIdentityInput.meta({
      description: 'The business behind the sender ID; encrypted, and purged a set time after the decision.',
    }),
  })
  .meta({ id: 'SenderIdApplication' });

/** The path of one of the account's own sender IDs. */
export const OwnSenderIdParams = z.strictObject({
  senderId: z
    .string()
    .regex(/^sid_[0-9A-HJKMNP-TV-Z]{26}$/, 'a sender ID id: sid_ and 26 letters and digits'),
});
