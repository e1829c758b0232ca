/** The business behind a sender ID application; kept encrypted and purged after the decision. */
export interface SenderIdentity {
  companyName: string;
  registrationNumber: string;
  address: string;
  contactName: string;
  contactEmail: string;
  useCase: string;
}
