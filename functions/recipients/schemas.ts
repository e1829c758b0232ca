import * as z from 'zod';
import { CURSORS } from '#layers/core/cursors.ts';
import { builtInReading, type KeywordAction } from '#layers/core/keywords.ts';
import {
  checkedBy,
  cursorOf,
  Jurisdiction,
  LedgerLine,
  ListedReply,
  onceValid,
  Phone,
  UnreadableOptOut,
} from '#layers/http/schemas.ts';
import { consentTimeProblem } from './use-cases/recipient-lists.ts';

const KeywordList = z.array(z.string().trim().min(1).max(40)).max(20);

export const Replies = z
  .strictObject({
    helpText: z.string().min(1).max(300).meta({ description: 'The answer to HELP and INFO.' }),
    keywords: z.strictObject({ optOut: KeywordList, optIn: KeywordList, help: KeywordList }).meta({
      description: 'Keywords in other languages, added to the built-in English ones (e.g. ARRET, ALTO).',
    }),
    referenceCodes: z.boolean().meta({
      description: 'Append "Ref: XXXXXX" to each message so a recipient can ask who sent it.',
    }),
  })
  .meta({ id: 'Replies' });

const KEYWORD_LISTS = { optOut: 'opt_out', optIn: 'opt_in', help: 'help' } as const satisfies Record<
  string,
  KeywordAction
>;

export const UpdateRepliesRequest = Replies.partial()
  .strict()
  .check(
    z.superRefine((replies: Partial<z.infer<typeof Replies>>, ctx) => {
      // A built-in word keeps its meaning: compared as replies are read (compatibility forms,
      // accents and case folded), so "ＳＴＯＰ" cannot opt in nor "ｂｌｏｃｋ" ask for help.
      for (const [list, action] of Object.entries(KEYWORD_LISTS)) {
        replies.keywords?.[list as keyof typeof KEYWORD_LISTS].forEach((word, i) => {
          const builtIn = builtInReading(word);
          if (builtIn && builtIn.action !== action) {
            ctx.addIssue({
              code: 'custom',
              path: ['keywords', list, i],
              message: `reads as the built-in keyword ${builtIn.keyword}, which always means ${builtIn.action}`,
            });
          }
        });
      }
    }, onceValid('keywords')),
  )
  .meta({
    id: 'UpdateRepliesRequest',
    description:
      'A keyword that reads as a built-in one (STOP, START, HELP, WHO, BLOCK, ...) with another action is refused.',
  });

export const PhoneParams = z.object({ phone: Phone });

export const OptOut = z
  .strictObject({
    phone: z.string(),
    scope: z.enum(['all', 'promotional']),
    source: z.string().meta({ description: 'keyword:<WORD> for a reply, api for this API.' }),
    at: z.iso.datetime(),
  })
  .meta({ id: 'OptOut' });

export const OptOutList = z
  .strictObject({ data: z.array(z.union([OptOut, UnreadableOptOut])) })
  .meta({ id: 'OptOutList' });

export const CreateOptOutRequest = z
  .strictObject({ phone: Phone, scope: z.enum(['all', 'promotional']).default('all') })
  .meta({ id: 'CreateOptOutRequest' });

export const RemovedOptOut = z.strictObject({ removed: z.boolean() }).meta({ id: 'RemovedOptOut' });

export const CreateConsentRequest = z
  .strictObject({
    phone: Phone,
    source: z.string().min(1).max(200).meta({ description: 'Where the person agreed, e.g. "signup form".' }),
    disclosureVersion: z
      .string()
      .min(1)
      .max(100)
      .meta({ description: 'The version of the text the person saw.' }),
    occurredAt: z.iso
      .datetime()
      .superRefine(checkedBy((at) => consentTimeProblem(at, new Date())))
      .optional()
      .meta({ description: 'When they agreed; defaults to now.' }),
    ip: z
      .union([z.ipv4(), z.ipv6()])
      .optional()
      .meta({ description: "The person's IP address; defaults to the caller's." }),
  })
  .meta({ id: 'CreateConsentRequest' });

export const ConsentLedger = z
  .strictObject({ phone: z.string(), live: z.boolean(), data: z.array(LedgerLine) })
  .meta({ id: 'ConsentLedger' });

export const InboundList = z
  .strictObject({ data: z.array(ListedReply), nextCursor: z.string().nullable(), jurisdiction: Jurisdiction })
  .meta({ id: 'InboundList' });

export const InboundQuery = z.strictObject({
  jurisdiction: Jurisdiction.optional().meta({
    description: "Replies are kept in the person's jurisdiction; defaults to the endpoint's own.",
  }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: cursorOf(CURSORS.inbound).optional(),
});
