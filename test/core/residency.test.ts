import { describe, expect, it } from 'vitest';
import { classifyRecipient } from '../../layers/core/residency.ts';

/**
 * The EU routing table, one row per trap in the design notes: the region libphonenumber-js
 * resolves decides, never the calling code alone, and ambiguity resolves to the EU.
 */
const CASES: [string, string, 'eu' | 'global', string | undefined][] = [
  ['Germany', '+4915123456789', 'eu', 'DE'],
  ['Ireland', '+35312345678', 'eu', 'IE'],
  ['Spain (Canary Islands share +34)', '+34612345678', 'eu', 'ES'],
  ['Portugal (Azores and Madeira share +351)', '+351912345678', 'eu', 'PT'],
  ['Cyprus', '+35799123456', 'eu', 'CY'],
  ['Norway (EEA)', '+4741234567', 'eu', 'NO'],
  ['Svalbard, +47 79: outside the EEA Agreement', '+4779123456', 'global', 'SJ'],
  ['Finland', '+358401234567', 'eu', 'FI'],
  ['Aland, +358 18: in the EU', '+358181234567', 'eu', 'AX'],
  ['Jersey, +44 7797', '+447797123456', 'global', 'JE'],
  ['Guernsey, +44 7781', '+447781123456', 'global', 'GG'],
  ['Isle of Man, +44 7624', '+447624123456', 'global', 'IM'],
  ['United Kingdom', '+447400123456', 'global', 'GB'],
  ['Russia, +7 9', '+79123456789', 'global', 'RU'],
  ['Kazakhstan, +7 70', '+77012345678', 'global', 'KZ'],
  ['United States, +1', '+12025550123', 'global', 'US'],
  ['Sint Maarten, +1 721 (Dutch, not EU)', '+17215201234', 'global', 'SX'],
  ['Vatican, +39 06 698 (shares +39 with Italy)', '+390669812345', 'global', 'VA'],
  ['Italy, +39 06', '+390612345678', 'eu', 'IT'],
  ['Gibraltar', '+35054012345', 'global', 'GI'],
  ['Faroe Islands (Danish, not EU)', '+298201234', 'global', 'FO'],
  ['Greenland (Danish, not EU)', '+299221234', 'global', 'GL'],
  ['Reunion, +262 692', '+262692123456', 'eu', 'RE'],
  ['Mayotte, +262 269', '+262269601234', 'eu', 'YT'],
  ['French Guiana, +594', '+594694201234', 'eu', 'GF'],
  ['Martinique, +596', '+596696201234', 'eu', 'MQ'],
  ['Saint-Pierre and Miquelon, +508', '+508551234', 'global', 'PM'],
  ['Guadeloupe fixed line, +590 590 20', '+590590201234', 'eu', 'GP'],
  ['Saint-Martin fixed line, +590 590 77', '+590590771234', 'eu', 'MF'],
  ['Saint-Barthelemy fixed line, +590 590 27: its own range', '+590590271234', 'global', 'BL'],
  ['+590 690 mobile, shared by Guadeloupe, Saint-Martin and Saint-Barthelemy', '+590690001234', 'eu', 'GP'],
  ['+590 691 mobile, shared', '+590691281234', 'eu', 'GP'],
  ['Northern Cyprus via +90 392 (numbered by Turkey)', '+905331234567', 'global', 'TR'],
];

describe('classifying a recipient into a jurisdiction', () => {
  it.each(CASES)('%s: %s is %s', (_name, number, jurisdiction, region) => {
    expect(classifyRecipient(number)).toEqual({ jurisdiction, region });
  });
});
