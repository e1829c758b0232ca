export type VerificationPurpose = 'block' | 'unblock' | 'identify';

/** A one-time-code challenge for the public flows. Holds no number, only its pseudonym. */
export interface Verification {
  id: string;
  purpose: VerificationPurpose;
  recipientPseudonym: string;
  codeDigest: string;
  attempts: number;
  expiresAt: number;
  /** For "who sent me this?": the reference code, or the time and sender ID the person saw. */
  query?: { refCode?: string | undefined; sentAt?: string | undefined; senderId?: string | undefined };
}

export interface VerificationStore {
  put(v: Verification): Promise<void>;
  get(id: string, now: Date): Promise<Verification | undefined>;
  /**
   * Takes one of a verification's `maxAttempts` tries, atomically, before its code is compared:
   * the verification as it stands, or undefined when it is unknown, expired or its tries are
   * used up (then it is forgotten). Concurrent tries can never compare more than `maxAttempts` codes.
   */
  claimAttempt(id: string, maxAttempts: number, now: Date): Promise<Verification | undefined>;
  remove(id: string): Promise<void>;
}
