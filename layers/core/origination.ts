import * as z from 'zod';
import type { Jurisdiction } from './model.ts';
import { checkRecipient } from './phone.ts';

/**
 * The gateway's own origination identities (one-time codes, block-all confirmations): per
 * jurisdiction, a map of ISO country code (or `default`) to an End User Messaging origination
 * identity (phone number, sender ID, pool, or one of their ids/ARNs). A sender ID cannot reach
 * the United States or Canada, which support no sender IDs, so those need a number there.
 */
const Identity = z
  .string()
  .min(1)
  .max(256)
  // SendTextMessage's OriginationIdentity pattern.
  .regex(/^[A-Za-z0-9_:/+-]+$/, 'an origination identity has letters, digits and _ : / + - only');
export const OriginationMap = z
  .record(z.string().regex(/^([A-Z]{2}|default)$/, 'keys are ISO country codes or "default"'), Identity)
  .refine((m): m is Record<string, string> & { default: string } => 'default' in m, {
    message: 'needs a "default" identity',
  });
export type OriginationMap = z.infer<typeof OriginationMap>;
export const GatewayOrigination = z.object({ global: OriginationMap, eu: OriginationMap });
export type GatewayOrigination = z.infer<typeof GatewayOrigination>;

/** The identity a message to `to` goes out from, in jurisdiction `j`. */
export function originationFor(origination: GatewayOrigination, j: Jurisdiction, to: string): string {
  const map = origination[j];
  const check = checkRecipient(to);
  const country = check.ok ? check.country : undefined;
  return (country && map[country]) || map.default;
}

/** Whether an identity is an alphanumeric sender ID (by value or by its ARN). */
export function isSenderId(identity: string): boolean {
  if (identity.startsWith('arn:')) return identity.includes(':sender-id/');
  if (/^\+?\d+$/.test(identity)) return false; // a phone number or a short code
  if (/^(phone|pool)-[A-Za-z0-9]+$/.test(identity)) return false; // a PhoneNumberId or PoolId
  return true;
}

/** Countries whose carriers accept no alphanumeric sender ID (End User Messaging SMS guide). */
export const NO_SENDER_ID_COUNTRIES = ['US', 'CA'] as const;
