import { describe, expect, it } from 'vitest';
import { parseKeyword } from '../../layers/core/keywords.ts';

describe('reading keywords in replies', () => {
  it.each([
    ['STOP', 'opt_out'],
    ['Stop.', 'opt_out'],
    ['stop please', 'opt_out'],
    ['STOP ALL', 'opt_out'],
    ['  *stop*  ', 'opt_out'],
    ['STOPALL', 'opt_out'],
    ['Unsubscribe', 'opt_out'],
    ['cancel!', 'opt_out'],
    ['End', 'opt_out'],
    ['quit', 'opt_out'],
    ['REVOKE', 'opt_out'],
    ['optout', 'opt_out'],
    ['ＳＴＯＰ', 'opt_out'],
    ['START', 'opt_in'],
    ['unstop', 'opt_in'],
    ['Yes', 'opt_in'],
    ['help', 'help'],
    ['INFO?', 'help'],
    ['who', 'who'],
    ['Who?', 'who'],
    ['BLOCK', 'block_all'],
    ['block all', 'block_all'],
    ['BLOCKALL', 'block_all'],
  ])('reads %j as %s', (text, action) => {
    expect(parseKeyword(text)?.action).toBe(action);
  });

  it.each(['Stopping by later', 'Please do not stop', 'Thanks!', '', '   ', 'STOPP', 'yesterday'])(
    'finds no keyword in %j',
    (text) => {
      expect(parseKeyword(text)).toBeUndefined();
    },
  );

  // The FCC's 2024 TCPA order names stop, quit, end, revoke, opt out, cancel and unsubscribe as
  // reasonable ways to revoke consent by text; the variants are how people type them.
  it.each([
    'opt out',
    'Opt-out',
    'OPT OUT please',
    'opt-out.',
    'Optout',
    'stop all',
    'StopAll',
    'unsubscribe me',
    'Cancel',
    'end',
    'Quit!',
    'revoke',
  ])("reads the FCC's revocation word %j as an opt-out", (text) => {
    expect(parseKeyword(text)?.action).toBe('opt_out');
  });

  it('keeps the built-in words meaning what they mean whatever a tenant adds', () => {
    const custom = { optOut: [], optIn: ['ＳＴＯＰ', 'stop all'], help: ['ｂｌｏｃｋ', 'opt out'] };
    expect(parseKeyword('STOP', custom)?.action).toBe('opt_out');
    expect(parseKeyword('stop all', custom)?.action).toBe('opt_out');
    expect(parseKeyword('BLOCK', custom)?.action).toBe('block_all');
    expect(parseKeyword('Opt out', custom)?.action).toBe('opt_out');
  });

  it("adds a tenant's keywords in other languages, with or without accents", () => {
    const custom = { optOut: ['ARRÊT', 'ne plus recevoir'], optIn: ['ALTA'], help: ['AIDE'] };
    expect(parseKeyword('Arrêt', custom)).toEqual({ action: 'opt_out', keyword: 'ARRET' });
    expect(parseKeyword('arret svp', custom)?.action).toBe('opt_out');
    expect(parseKeyword('Ne plus recevoir, merci', custom)?.action).toBe('opt_out');
    expect(parseKeyword('alta', custom)?.action).toBe('opt_in');
    expect(parseKeyword('Aide', custom)?.action).toBe('help');
    // Without the tenant's list the same words mean nothing.
    expect(parseKeyword('Arrêt')).toBeUndefined();
    // The built-in words keep working next to custom ones.
    expect(parseKeyword('STOP', custom)?.action).toBe('opt_out');
  });
});
